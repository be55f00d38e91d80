import WebSocketProtocol

/// A proxy to reach the WebSocket server through, as `--proxy` and the proxy environment
/// variables give it: `http://` (HTTP CONNECT, RFC 9110 §9.3.6), `https://` (the same
/// inside TLS to the proxy), `socks5://` (RFC 1928,
/// names resolved here) or `socks5h://` (the proxy resolves them), with optional
/// `user:password@` (percent-decoded; Basic for HTTP, RFC 1929 for SOCKS5).
///
/// A URL without a scheme is `http://`, and without a port it is 1080 (443 for `https://`)
/// — as curl reads them. `description` never shows the credentials.
public struct ProxyURL: Sendable, Hashable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case http
    /// HTTP CONNECT inside TLS to the proxy.
    case https
    case socks5
    case socks5h
  }

  /// Why a proxy URL was refused (a usage error).
  public struct ParseError: Error, Sendable, CustomStringConvertible {
    public var description: String
  }

  public var kind: Kind
  public var host: String
  public var isIPv6Literal: Bool
  public var port: Int
  public var user: String?
  public var password: String?

  public init(parsing text: String) throws(ParseError) {
    var rest = Substring(text)
    var scheme = "http"
    if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
      scheme = rest[..<colon].lowercased()
      rest = rest[rest.index(colon, offsetBy: 3)...]
    }
    switch scheme {
    case "http": kind = .http
    case "socks5": kind = .socks5
    case "socks5h": kind = .socks5h
    case "https": kind = .https
    case "socks4", "socks4a":
      throw ParseError(description: "\(scheme):// proxies are not supported; use socks5:// or socks5h://")
    default:
      throw ParseError(description: "unsupported proxy scheme \"\(scheme)\" (http, https, socks5, socks5h)")
    }
    // A trailing "/" is common in the environment (http_proxy=http://proxy:3128/); a path is not.
    if let slash = rest.firstIndex(of: "/") {
      guard rest[slash...].allSatisfy({ $0 == "/" }) else {
        throw ParseError(description: "a proxy URL has no path")
      }
      rest = rest[..<slash]
    }
    let authority: Authority
    do {
      authority = try Authority(parsing: rest)
    } catch {
      throw ParseError(description: error.description)
    }
    host = authority.host
    isIPv6Literal = authority.isIPv6Literal
    port = authority.port ?? (kind == .https ? 443 : 1080)
    user = authority.user
    password = authority.password
    if kind == .socks5h && host.utf8.count > 255 {
      throw ParseError(description: "proxy host name longer than 255 bytes")
    }
  }

  /// "http://proxy.example:3128", without credentials.
  public var description: String {
    "\(kind.rawValue)://\(isIPv6Literal ? "[\(host)]" : host):\(port)"
  }

  /// Whether the URL carries credentials (shown as "with credentials", never their value).
  public var hasCredentials: Bool { user != nil }
}
