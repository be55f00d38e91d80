import FuzzSupport
import WebSocketProtocol

/// The receive path in the client role after a completed handshake: arbitrary bytes
/// from a hostile server, fed in two pieces at an offset the input chooses, under a
/// small maxMessageSize. Nothing may trap; the events must be consistent.
@_cdecl("FuzzFrameClient_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: start, count: count)
  FuzzConnection.run(bytes, role: .client)
  return 0
}
