import FuzzSupport
import WebSocketProtocol

/// The URL parser (RFC 6455 §3, RFC 3986) and the redirect resolution built on it:
/// the first line is a URL given to wsc, the second a Location a server answers with.
@_cdecl("FuzzURI_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
  runFuzzer(argc, argv) { data, count in
    fuzz(UnsafeRawPointer(data) ?? UnsafeRawPointer(bitPattern: 1)!, count)
  }
}

func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
  let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
  guard let uri = try? WebSocketURI(parsing: String(lines[0])) else { return 0 }
  // What parses prints back to something that parses to the same request.
  let again = try? WebSocketURI(parsing: uri.description)
  precondition(again?.resource == uri.resource && again?.host == uri.host, "description does not round-trip")
  if lines.count == 2 {
    _ = try? Redirect.target(of: String(lines[1]), from: uri)
  }
  return 0
}
