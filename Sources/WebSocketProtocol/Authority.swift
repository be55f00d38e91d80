/// The authority of a URL, `[user[:password]@]host[:port]` (RFC 3986 §3.2), as WebSocket
/// and proxy URLs share it: userinfo percent-decoded, the host lower-cased (an IPv6 literal
/// without its brackets), the port only when one was written.
public struct Authority: Sendable, Hashable {
  public var user: String?
  public var password: String?
  public var host: String
  public var isIPv6Literal: Bool
  public var port: Int?

  public init(parsing text: Substring) throws(WebSocketURI.ParseError) {
    var authority = text
    user = nil
    password = nil
    isIPv6Literal = false
    port = nil
    if let at = authority.lastIndex(of: "@") {
      let userinfo = authority[..<at]
      authority = authority[authority.index(after: at)...]
      if let colon = userinfo.firstIndex(of: ":") {
        user = try WebSocketURI.percentDecode(userinfo[..<colon])
        password = try WebSocketURI.percentDecode(userinfo[userinfo.index(after: colon)...])
      } else {
        user = try WebSocketURI.percentDecode(userinfo)
      }
    }
    var portText: Substring? = nil
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { throw .invalidHost(String(authority)) }
      let literal = authority[authority.index(after: authority.startIndex)..<close]
      guard !literal.isEmpty, literal.contains(":"),
        literal.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" })
      else { throw .invalidHost(String(authority)) }
      host = try WebSocketURI.percentDecode(literal).lowercased()
      isIPv6Literal = true
      let after = authority[authority.index(after: close)...]
      if after.hasPrefix(":") {
        portText = after.dropFirst()
      } else if !after.isEmpty {
        throw .invalidHost(String(authority))
      }
    } else {
      if let colon = authority.lastIndex(of: ":") {
        portText = authority[authority.index(after: colon)...]
        authority = authority[..<colon]
      }
      guard !authority.isEmpty else { throw .missingHost }
      let allowed = authority.utf8.allSatisfy { c in
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
          || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
          || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-")
          || c == UInt8(ascii: ".")
          || c == UInt8(ascii: "_") || c >= 0x80
      }
      guard allowed, authority.utf8.count <= 253 else { throw .invalidHost(String(authority)) }
      host = authority.lowercased()
    }
    if let portText {
      guard !portText.isEmpty, portText.utf8.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
        let p = Int(portText), (1...65535).contains(p)
      else { throw .invalidPort(String(portText)) }
      port = p
    }
  }
}
