import FuzzSupport
import WebSocketProtocol

/// The receive path in the server role (listen mode): what a hostile client sends
/// after the handshake.
@_cdecl("FuzzFrameServer_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  FuzzConnection.run(UnsafeRawBufferPointer(start: start, count: count), role: .server)
  return 0
}
