import FuzzSupport
import WebSocketDeflate
import WebSocketProtocol

/// The Sec-WebSocket-Extensions parser (RFC 6455 §9.1) and permessage-deflate's checks
/// of each element, as client (a response) and as server (an offer).
@_cdecl("FuzzExtensionHeader_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
  guard let offers = try? ExtensionOffer.parseList(text) else { return 0 }
  for offer in offers {
    _ = try? PerMessageDeflate.standard.parameters(accepting: offer)
  }
  _ = PerMessageDeflateServer().negotiate(offers)
  return 0
}
