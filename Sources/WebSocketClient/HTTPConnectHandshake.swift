import WebSocketProtocol

/// The client side of an HTTP CONNECT tunnel (RFC 9110 §9.3.6), without I/O: the request
/// to send, then the proxy's reply fed as it arrives.
///
/// - The request names the origin as `host:port`, the port always written and an IPv6
///   literal in brackets (CHECKLIST D1); it carries `Proxy-Authorization: Basic` when the
///   proxy URL has credentials, and nothing of the origin's headers (D4).
/// - The reply head is bounded as a WebSocket handshake response is (`HTTPHeadParser`:
///   8 KiB lines, 128 headers, 64 KiB in all; D9). A 2xx opens the tunnel right after the
///   blank line, whatever Content-Length or Transfer-Encoding say (RFC 9112 §6.3 item 2,
///   D3); anything else is the proxy's refusal, reported with its status (D2).
public struct HTTPConnectHandshake: Sendable {
  public let host: String
  public let port: Int
  private let isIPv6: Bool
  private let credentials: (user: String, password: String)?
  private var parser = HTTPHeadParser()

  public init(host: String, port: Int, isIPv6Literal: Bool, user: String?, password: String?) {
    self.host = host
    self.port = port
    self.isIPv6 = isIPv6Literal
    self.credentials = user.map { ($0, password ?? "") }
  }

  private var target: String { "\(isIPv6 ? "[\(host)]" : host):\(port)" }

  /// The request lines (without the final empty line); credentials shown as `[redacted]`
  /// when `redactingCredentials` (for `-v`).
  public func requestLines(redactingCredentials: Bool) -> [String] {
    var lines = ["CONNECT \(target) HTTP/1.1", "Host: \(target)"]
    if let credentials {
      let value =
        redactingCredentials
        ? "[redacted]" : Base64.encodeString(Array("\(credentials.user):\(credentials.password)".utf8))
      lines.append("Proxy-Authorization: Basic \(value)")
    }
    return lines
  }

  public func requestBytes() -> [UInt8] {
    Array((requestLines(redactingCredentials: false).joined(separator: "\r\n") + "\r\n\r\n").utf8)
  }

  /// The proxy's reply, complete.
  public struct Reply: Sendable {
    public var head: HTTPHeadParser.Head
    /// Bytes after the blank line: the first bytes through the tunnel.
    public var leftover: [UInt8]
  }

  /// Feeds bytes from the proxy. Returns the reply once its head is complete and says 2xx;
  /// nil while more is needed; throws for a refusal or a reply that is not HTTP.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) throws(ProxyError) -> Reply? {
    let result: (HTTPHeadParser.Head, Int)?
    do {
      result = try parser.feed(bytes)
    } catch {
      throw ProxyError("invalid reply from the proxy: \(error.description)")
    }
    guard let (head, used) = result else {
      // Refuse what cannot be HTTP as soon as its first bytes show it.
      if let line = parser.startLine {
        _ = try Self.status(line)
      } else {
        let seen = parser.partialStartLine
        if !Array("HTTP/1.".utf8).starts(with: seen.prefix(7)) { throw Self.notHTTP(seen) }
      }
      return nil
    }
    let (code, reason) = try Self.status(head.startLine)
    guard (200..<300).contains(code) else {
      var text =
        "the proxy refused the tunnel to \(target): HTTP \(code) \(ProxyError.printable(reason.utf8))"
      if code == 407 {
        text +=
          credentials == nil
          ? " (it wants credentials: --proxy http://user:password@host:port)"
          : " (it refused the credentials)"
      }
      throw ProxyError(text)
    }
    return Reply(head: head, leftover: Array(bytes[used...]))
  }

  static func notHTTP<C: Collection>(_ seen: C) -> ProxyError where C.Element == UInt8 {
    ProxyError("the proxy's reply is not HTTP: \"\(ProxyError.printable(seen))\" (not an HTTP proxy?)")
  }

  /// `HTTP/1.x SP 3DIGIT [SP reason]` (RFC 9112 §4).
  static func status(_ line: String) throws(ProxyError) -> (Int, String) {
    let b = Array(line.utf8)
    guard b.starts(with: Array("HTTP/1.".utf8)) else { throw notHTTP(b.prefix(16)) }
    guard let status = HTTPHeadParser.statusLine(line) else {
      throw ProxyError("invalid status line from the proxy: \"\(ProxyError.printable(b))\"")
    }
    return (status.code, status.reason)
  }
}
