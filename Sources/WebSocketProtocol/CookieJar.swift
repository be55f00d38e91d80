/// Cookies for the opening handshake (`--cookie`, curl's `-b`), without I/O: a
/// `name=value; …` string sent as given, or a Netscape cookie file (the format curl's
/// `-c` writes and browsers' exporters produce) from which only the cookies that match
/// the request are sent.
///
/// Matching follows RFC 6265: §5.1.3 domain-match (the host itself, or, for a cookie
/// valid for subdomains, a host that ends with "." + the domain; never for an IP
/// address), §5.1.4 path-match, §5.4 step 1 (`secure` cookies only over wss://),
/// and an expiry in the past drops the cookie (0 marks a session cookie, kept).
public struct CookieJar: Sendable, Equatable {
  /// One line of a Netscape cookie file.
  public struct Cookie: Sendable, Equatable {
    /// Lower case, without the leading dot.
    public var domain: String
    /// TRUE in the file's second field: subdomains of `domain` match too.
    public var includeSubdomains: Bool
    public var path: String
    public var secure: Bool
    /// Seconds since 1970; 0 for a session cookie.
    public var expires: Int64
    public var name: String
    public var value: String

    public init(
      domain: String, includeSubdomains: Bool, path: String, secure: Bool, expires: Int64, name: String,
      value: String
    ) {
      self.domain = domain
      self.includeSubdomains = includeSubdomains
      self.path = path
      self.secure = secure
      self.expires = expires
      self.name = name
      self.value = value
    }
  }

  /// A line of the file that is not a cookie, with its number (1-based).
  public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
  }

  public private(set) var cookies: [Cookie]

  public init(cookies: [Cookie]) { self.cookies = cookies }

  /// Parses a Netscape cookie file: seven TAB-separated fields a line; `#` comments and
  /// blank lines skipped; `#HttpOnly_` before the domain marks an HttpOnly cookie (sent:
  /// a handshake is HTTP).
  public init(netscape text: String) throws(ParseError) {
    var cookies: [Cookie] = []
    var number = 0
    // "\r\n" is one Character in Swift: split on newlines, not on "\n".
    for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      number += 1
      var line = raw
      let httpOnly = "#HttpOnly_"
      if line.hasPrefix(httpOnly) {
        line = line.dropFirst(httpOnly.count)
      } else if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) {
        continue
      }
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard fields.count == 7 else {
        throw ParseError(line: number, reason: "expected 7 TAB-separated fields, found \(fields.count)")
      }
      guard let flag = Self.bool(fields[1]), let secure = Self.bool(fields[3]) else {
        throw ParseError(line: number, reason: "the 2nd and 4th fields must be TRUE or FALSE")
      }
      guard let expires = Int64(fields[4]), expires >= 0 else {
        throw ParseError(line: number, reason: "the 5th field (expiry) must be seconds since 1970")
      }
      var domain = fields[0].lowercased()
      // A leading dot (the old form) means subdomains too, whatever the flag says.
      let dotted = domain.hasPrefix(".")
      if dotted { domain.removeFirst() }
      guard !domain.isEmpty else { throw ParseError(line: number, reason: "the domain is empty") }
      cookies.append(
        Cookie(
          domain: domain, includeSubdomains: flag || dotted,
          path: fields[2].isEmpty ? "/" : String(fields[2]),
          secure: secure, expires: expires, name: String(fields[5]), value: String(fields[6])))
    }
    self.cookies = cookies
  }

  /// The cookies to send to `host` for a request to `path`, in the file's order (RFC
  /// 6265 §5.4 step 2 would sort longer paths first; curl keeps the file's order, and
  /// servers do not depend on it).
  public func matching(host: String, path: String, secure: Bool, now: Int64) -> [Cookie] {
    let host = host.lowercased()
    let requestPath =
      path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(
        String.init) ?? "/"
    return cookies.filter { c in
      (c.expires == 0 || c.expires > now) && (!c.secure || secure)
        && Self.domainMatches(host: host, cookie: c) && Self.pathMatches(requestPath, c.path)
    }
  }

  /// The `Cookie` header value for those cookies (`a=1; b=2`), or nil when none match.
  public func header(host: String, path: String, secure: Bool, now: Int64) -> String? {
    let chosen = matching(host: host, path: path, secure: secure, now: now)
    return chosen.isEmpty ? nil : chosen.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
  }

  /// RFC 6265 §5.1.3.
  static func domainMatches(host: String, cookie: Cookie) -> Bool {
    if host == cookie.domain { return true }
    guard cookie.includeSubdomains, host.hasSuffix("." + cookie.domain) else { return false }
    // An IP address never matches by suffix (10.0.0.1 is not a "subdomain" of 0.0.1).
    return !host.contains(":") && !host.split(separator: ".").allSatisfy { $0.allSatisfy(\.isNumber) }
  }

  /// RFC 6265 §5.1.4: the same path, or the cookie's path is a prefix that ends with "/"
  /// or is followed by "/" in the request's path.
  static func pathMatches(_ requestPath: String, _ cookiePath: String) -> Bool {
    if requestPath == cookiePath { return true }
    guard requestPath.hasPrefix(cookiePath) else { return false }
    return cookiePath.hasSuffix("/") || requestPath.dropFirst(cookiePath.count).first == "/"
  }

  private static func bool(_ s: Substring) -> Bool? {
    switch s.uppercased() {
    case "TRUE": return true
    case "FALSE": return false
    default: return nil
    }
  }
}
