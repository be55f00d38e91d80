import FuzzSupport
import WebSocketDeflate
import WebSocketProtocol

/// The HTTP head parser and the client's validation of the response (§4.1, §4.2.2,
/// RFC 7692 §5): what a hostile server answers to our request, with subprotocols and
/// permessage-deflate offered so their checks run too, fed in two pieces.
@_cdecl("FuzzClientHandshake_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let input = UnsafeRawBufferPointer(start: start, count: count)
  guard let first = input.first else { return 0 }
  var rng = FixedKey()
  let options = ClientHandshake.Options(
    uri: try! WebSocketURI(parsing: "ws://fuzz.example/chat"), subprotocols: ["chat", "v2"],
    negotiators: [PerMessageDeflate.standard])
  var handshake = try! ClientHandshake(options: options, random: &rng)
  let body = UnsafeRawBufferPointer(rebasing: input[1...])
  let split = Int(first) % (body.count + 1)
  do {
    if let (_, used) = try handshake.receive(UnsafeRawBufferPointer(rebasing: body[..<split])) {
      precondition(used <= split, "used more than it was given")
      return 0
    }
    if let (_, used) = try handshake.receive(UnsafeRawBufferPointer(rebasing: body[split...])) {
      precondition(used <= body.count - split, "used more than it was given")
    } else {
      _ = handshake.receiveEOF()
    }
  } catch {
    _ = error.description
  }
  return 0
}

/// The same key every run, so a dictionary entry for its Sec-WebSocket-Accept
/// (`fuzz.dict`) lets the fuzzer reach the checks after it.
struct FixedKey: RandomNumberGenerator {
  mutating func next() -> UInt64 { 0x0102_0304_0506_0708 }
}
