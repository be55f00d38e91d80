/// A parsed WebSocket URI (RFC 6455 §3), plus the two forms a command line also takes:
/// `host:port` with no scheme (meaning `ws://`) and `ws+unix:/path/to.sock:/request/path`.
public struct WebSocketURI: Sendable, Hashable, CustomStringConvertible {
  /// Why a URI was refused. Each is a usage error: nothing is sent.
  public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case unsupportedScheme(String)
    case missingHost
    case invalidHost(String)
    case invalidPort(String)
    case fragment
    case invalidCharacter(UInt8)
    case invalidPercentEncoding

    public var description: String {
      switch self {
      case .empty: return "the URL is empty"
      case .unsupportedScheme(let s): return "unsupported scheme \"\(s)\" (use ws:// or wss://)"
      case .missingHost: return "the URL has no host"
      case .invalidHost(let h): return "invalid host \"\(h)\""
      case .invalidPort(let p):
        // Echo only digits: non-numeric "port" text may be a password with an unencoded "/"
        // ("ws://u:secret/x@h"), which must never reach stderr (credential-leak class).
        guard !p.isEmpty, p.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
          return "invalid port (1–65535)"
        }
        return "invalid port \"\(p)\" (1–65535)"
      case .fragment: return "a WebSocket URL must not have a fragment (\"#\"); write %23 for a literal #"
      case .invalidCharacter(let c): return "invalid character 0x\(String(c, radix: 16)) in the URL"
      case .invalidPercentEncoding: return "invalid percent-encoding in the URL"
      }
    }
  }

  /// wss:// (TLS).
  public var secure: Bool
  /// Host name or IP literal, without brackets; lowercased. Empty for a Unix socket.
  public var host: String
  /// Whether `host` was written as a bracketed IPv6 literal.
  public var isIPv6Literal: Bool
  public var port: Int
  /// Path and query, as sent in the request line (§4.1: the "resource name"); "/" when empty.
  public var resource: String
  /// Percent-decoded user name and password from the userinfo, if any.
  public var user: String?
  public var password: String?
  /// Path of the Unix socket for `ws+unix:`.
  public var unixSocketPath: String?

  /// The default port of the scheme: 80 for ws, 443 for wss (§3).
  public var defaultPort: Int { secure ? 443 : 80 }

  /// The `Host` header value: the host (bracketed if IPv6) and the port unless it is the default (§4.1 item 4).
  public var hostHeader: String {
    if unixSocketPath != nil { return "localhost" }
    let h = isIPv6Literal ? "[\(host)]" : host
    return port == defaultPort ? h : "\(h):\(port)"
  }

  /// The URI without userinfo, so it can be shown in diagnostics without leaking credentials.
  public var description: String {
    // A path that starts with "//" is written after "//", which the parser drops, so the
    // description parses back to the same path (fuzzing finding crash-660a7eae).
    if let path = unixSocketPath { return "ws+unix:\(path.hasPrefix("//") ? "//" : "")\(path):\(resource)" }
    // A zone ID's "%" is written "%25" (RFC 6874 §2), so the description parses back.
    let h = isIPv6Literal ? "[\(host.replacingPercent())]" : host
    return "\(secure ? "wss" : "ws")://\(h):\(port)\(resource)"
  }

  /// Parses `text`. A missing scheme means `ws://`; `http`, `ftp` and others are refused.
  public init(parsing text: String) throws(ParseError) {
    var rest = Substring(text)
    guard !rest.isEmpty else { throw .empty }
    for c in text.utf8 where c <= 0x20 || c == 0x7F { throw .invalidCharacter(c) }
    user = nil
    password = nil
    unixSocketPath = nil
    isIPv6Literal = false
    let lower = text.lowercased()
    if lower.unicodeScalars.starts(with: "ws+unix:".unicodeScalars) {
      rest = rest.droppingScalars(8)
      if rest.startsWithScalars("//") { rest = rest.droppingScalars(2) }
      // The socket path runs to the first ":" (websocat's form); the request path follows it.
      let path: Substring
      var request: Substring = "/"
      if let colon = rest.unicodeScalars.firstIndex(of: ":") {
        path = rest[..<colon]
        request = rest[rest.unicodeScalars.index(after: colon)...]
      } else {
        path = rest
      }
      guard !path.isEmpty else { throw .missingHost }
      secure = false
      host = ""
      port = 80
      unixSocketPath = String(path)
      resource = try Self.resourceName(request.isEmpty ? "/" : request)
      return
    }
    if let sep = Self.schemeSeparator(in: rest) {
      let scheme = rest[..<sep.lowerBound].lowercased()
      switch scheme {
      case "ws": secure = false
      case "wss": secure = true
      default: throw .unsupportedScheme(scheme)
      }
      rest = rest[sep.upperBound...]
    } else if let colon = rest.unicodeScalars.firstIndex(of: ":"), Self.looksLikeScheme(rest[..<colon]),
      !rest[rest.unicodeScalars.index(after: colon)...].hasPrefix(where: { $0.isASCII && $0.isNumber })
    {
      // "http:/x", "mailto:a": a scheme without "//" is not a bare host:port.
      throw .unsupportedScheme(rest[..<colon].lowercased())
    } else {
      secure = false
    }
    let authorityEnd =
      rest.unicodeScalars.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
    let parsed = try Authority(parsing: rest[..<authorityEnd])
    let tail = rest[authorityEnd...]
    user = parsed.user
    password = parsed.password
    host = parsed.host
    isIPv6Literal = parsed.isIPv6Literal
    port = parsed.port ?? (secure ? 443 : 80)
    resource = try Self.resourceName(tail)
  }

  private static func schemeSeparator(in s: Substring) -> Range<Substring.Index>? {
    let scalars = s.unicodeScalars
    var i = scalars.startIndex
    while i < scalars.endIndex {
      if scalars[i] == "/" || scalars[i] == "?" || scalars[i] == "#" { return nil }
      if scalars[i] == ":" && s[scalars.index(after: i)...].startsWithScalars("//") {
        return i..<scalars.index(i, offsetBy: 3)
      }
      i = scalars.index(after: i)
    }
    return nil
  }

  private static func looksLikeScheme(_ s: Substring) -> Bool {
    guard let first = s.first, first.isASCII, first.isLetter else { return false }
    return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }
  }

  /// Path and query with non-ASCII bytes percent-encoded; "/" when the path is empty (§3).
  private static func resourceName(_ tail: Substring) throws(ParseError) -> String {
    if tail.unicodeScalars.contains("#") { throw .fragment }
    var out: [UInt8] = []
    if !tail.startsWithScalars("/") { out.append(UInt8(ascii: "/")) }
    let hex = Array("0123456789ABCDEF".utf8)
    for c in tail.utf8 {
      if c >= 0x80 {
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(c >> 4)])
        out.append(hex[Int(c & 0xF)])
      } else {
        out.append(c)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Percent-decodes `s` (RFC 3986 §2.1) as UTF-8 (invalid sequences become U+FFFD).
  public static func percentDecode(_ s: Substring) throws(ParseError) -> String {
    var out: [UInt8] = []
    var it = Array(s.utf8)[...]
    while let c = it.popFirst() {
      if c == UInt8(ascii: "%") {
        guard let h = it.popFirst(), let l = it.popFirst(), let hv = hexValue(h), let lv = hexValue(l) else {
          throw .invalidPercentEncoding
        }
        out.append(hv << 4 | lv)
      } else {
        out.append(c)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}

extension Substring {
  fileprivate func hasPrefix(where predicate: (Character) -> Bool) -> Bool {
    guard let f = first else { return false }
    return predicate(f)
  }
}

extension String {
  fileprivate func replacingPercent() -> String {
    String(unicodeScalars.flatMap { $0 == "%" ? Array("%25".unicodeScalars) : [$0] }.map(Character.init))
  }
}
