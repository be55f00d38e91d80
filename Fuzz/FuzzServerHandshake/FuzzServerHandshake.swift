import FuzzSupport
import WebSocketDeflate
import WebSocketProtocol

/// The server's request parser and validation (§4.2.1) with permessage-deflate and
/// subprotocols negotiated (listen mode's options): what a hostile client sends first.
@_cdecl("FuzzServerHandshake_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let input = UnsafeRawBufferPointer(start: start, count: count)
  guard let first = input.first else { return 0 }
  var handshake = ServerHandshake(
    options: .init(subprotocols: ["chat"], negotiators: [PerMessageDeflateServer()], serverName: "wsc"))
  let body = UnsafeRawBufferPointer(rebasing: input[1...])
  let split = Int(first) % (body.count + 1)
  do {
    if let (accepted, used) = try handshake.receive(UnsafeRawBufferPointer(rebasing: body[..<split])) {
      precondition(used <= split, "used more than it was given")
      _ = accepted
      return 0
    }
    _ = try handshake.receive(UnsafeRawBufferPointer(rebasing: body[split...]))
  } catch {
    _ = error.responseBytes
  }
  return 0
}
