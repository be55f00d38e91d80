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
    if let at = authority.unicodeScalars.lastIndex(of: "@") {
      let userinfo = authority[..<at]
      authority = authority[authority.unicodeScalars.index(after: at)...]
      if let colon = userinfo.unicodeScalars.firstIndex(of: ":") {
        user = try WebSocketURI.percentDecode(userinfo[..<colon])
        password = try WebSocketURI.percentDecode(userinfo[userinfo.unicodeScalars.index(after: colon)...])
      } else {
        user = try WebSocketURI.percentDecode(userinfo)
      }
    }
    var portText: Substring? = nil
    if authority.startsWithScalars("[") {
      guard let close = authority.unicodeScalars.firstIndex(of: "]") else {
        throw .invalidHost(String(authority))
      }
      let literal = authority[authority.unicodeScalars.index(after: authority.startIndex)..<close]
      guard !literal.isEmpty, literal.contains(":"),
        literal.unicodeScalars.allSatisfy({
          $0.isASCII
            && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
              || ":.%-_~".unicodeScalars.contains($0))
        })
      else { throw .invalidHost(String(authority)) }
      host = try WebSocketURI.percentDecode(literal).lowercased()
      // After decoding: an address of hex digits, ":" and ".", then maybe a zone ID
      // (RFC 6874, "%25eth0" in the URL) of unreserved characters. A fuzzing finding:
      // "[2:e%ee1]" decoded a byte 0xEE into the host, which no URL could write back.
      let parts = host.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
      let unreserved = { (c: Unicode.Scalar) in
        c.isASCII
          && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "-._~".unicodeScalars.contains(c))
      }
      guard
        parts[0].unicodeScalars.allSatisfy({
          $0.isASCII && ($0.properties.isASCIIHexDigit || $0 == ":" || $0 == ".")
        }),
        parts.count == 1 || (!parts[1].isEmpty && parts[1].unicodeScalars.allSatisfy(unreserved))
      else { throw .invalidHost(String(authority)) }
      isIPv6Literal = true
      let after = authority[authority.unicodeScalars.index(after: close)...]
      if after.startsWithScalars(":") {
        portText = after.droppingScalars(1)
      } else if !after.isEmpty {
        throw .invalidHost(String(authority))
      }
    } else {
      if let colon = authority.unicodeScalars.lastIndex(of: ":") {
        portText = authority[authority.unicodeScalars.index(after: colon)...]
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

// Delimiters are found among Unicode scalars, not Characters: a combining mark after "/"
// or ":" makes one Character of the two, and a Character search would not see the
// delimiter (a fuzzing finding: "ws://\u{5B9}-/" was refused while "\u{5B9}-" parsed).
extension Substring {
  func startsWithScalars(_ prefix: String) -> Bool { unicodeScalars.starts(with: prefix.unicodeScalars) }

  func droppingScalars(_ n: Int) -> Substring { Substring(unicodeScalars.dropFirst(n)) }
}
