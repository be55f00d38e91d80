/// Following a redirect of the opening handshake (`-L`, CHECKLIST G1–G5), without I/O.
///
/// RFC 6455 §4.1 lets a client follow a 3xx; browsers do not (WHATWG Fetch uses redirect
/// mode "error"), so it is opt-in. The rules here are those of Python websockets and curl:
/// a `Location` resolves against the current URI (RFC 3986 §5.2), `http`/`https` mean
/// `ws`/`wss`, wss:// never leads to ws:// (a TLS downgrade), and credentials do not
/// follow to another origin (scheme, host or port).
public enum Redirect {
  /// The statuses followed: 301, 302, 303, 307, 308 (RFC 9110 §15.4). 300 and 304–306 are not.
  public static let statuses: Set<Int> = [301, 302, 303, 307, 308]

  public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidLocation(String, reason: String)
    case downgrade(String)

    public var description: String {
      switch self {
      case .invalidLocation(let l, let reason): return "cannot follow the redirect to \"\(l)\": \(reason)"
      case .downgrade(let l):
        return "refusing to follow the redirect from wss:// to \(l): that would drop TLS"
      }
    }
  }

  /// The URI `location` leads to from `current`, with `current`'s credentials when the
  /// origin is the same and without them otherwise.
  public static func target(of location: String, from current: WebSocketURI) throws(Failure) -> WebSocketURI {
    var text = String(Substring(location).trimmingSpaces())
    if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
    guard !text.isEmpty else { throw .invalidLocation(location, reason: "it is empty") }
    var next: WebSocketURI
    do throws(WebSocketURI.ParseError) {
      next = try resolve(text, against: current)
    } catch {
      throw .invalidLocation(printable(location), reason: error.description)
    }
    if current.secure && !next.secure { throw .downgrade(printable(next.description)) }
    if sameOrigin(current, next) && next.user == nil {
      next.user = current.user
      next.password = current.password
    }
    return next
  }

  /// Scheme, host and port (and the socket path of `ws+unix:`) all equal (RFC 6454 §4).
  public static func sameOrigin(_ a: WebSocketURI, _ b: WebSocketURI) -> Bool {
    a.secure == b.secure && a.host == b.host && a.port == b.port && a.unixSocketPath == b.unixSocketPath
  }

  private static func resolve(_ text: String, against base: WebSocketURI) throws(WebSocketURI.ParseError)
    -> WebSocketURI
  {
    if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
      let scheme = text[..<colon].lowercased()
      let rest = text[text.index(after: colon)...]
      switch scheme {
      case "http", "ws": return try WebSocketURI(parsing: "ws:" + rest)
      case "https", "wss": return try WebSocketURI(parsing: "wss:" + rest)
      default: throw .unsupportedScheme(scheme)
      }
    }
    if text.hasPrefix("//") { return try WebSocketURI(parsing: (base.secure ? "wss:" : "ws:") + text) }
    let (basePath, _) = split(base.resource)
    let resource: String
    if text.hasPrefix("/") {
      resource = text
    } else if text.hasPrefix("?") {
      resource = basePath + text
    } else {
      let directory = basePath.lastIndex(of: "/").map { String(basePath[...$0]) } ?? "/"
      resource = directory + text
    }
    let (path, query) = split(resource)
    let cleaned = removeDotSegments(path) + (query.map { "?" + $0 } ?? "")
    if let socket = base.unixSocketPath { return try WebSocketURI(parsing: "ws+unix:\(socket):\(cleaned)") }
    let host = base.isIPv6Literal ? "[\(base.host)]" : base.host
    return try WebSocketURI(parsing: "\(base.secure ? "wss" : "ws")://\(host):\(base.port)\(cleaned)")
  }

  private static func split(_ resource: String) -> (path: String, query: String?) {
    guard let q = resource.firstIndex(of: "?") else { return (resource, nil) }
    return (String(resource[..<q]), String(resource[resource.index(after: q)...]))
  }

  /// RFC 3986 §5.2.4.
  static func removeDotSegments(_ path: String) -> String {
    var output: [Substring] = []
    let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    for (i, segment) in segments.enumerated() {
      let last = i == segments.count - 1
      switch segment {
      case ".":
        if last { output.append("") }
      case "..":
        if !output.isEmpty { output.removeLast() }
        if last { output.append("") }
      default: output.append(segment)
      }
    }
    return "/" + output.joined(separator: "/")
  }

  private static func printable(_ s: String) -> String {
    String(
      s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }.prefix(512))
  }
}
