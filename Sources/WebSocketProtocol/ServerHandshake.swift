/// The server side of negotiating one extension (listen mode): picks among the client's
/// offers for `name` and says what it accepted.
public protocol ServerExtensionNegotiator: Sendable {
  /// The extension token, e.g. "permessage-deflate" (compared case-insensitively).
  var name: String { get }
  /// The client's offers naming this extension, in the client's order of preference. Returns
  /// the response element and what was agreed, or nil to decline (RFC 6455 §9.1).
  func respond(to offers: [ExtensionOffer]) -> (element: String, agreed: any NegotiatedExtension)?
}

/// The server side of the opening handshake (RFC 6455 §4.2): reads and checks the client's
/// request, then builds the 101 response or the error response, without doing any I/O.
///
/// The request head is bounded like a response head (`HTTPHeadParser` limits). Bytes after
/// it are already WebSocket frames (a client may pipeline them) and belong to the connection.
public struct ServerHandshake: Sendable {
  /// What the server supports.
  public struct Options: Sendable {
    /// Subprotocols the server speaks; the first one the client offers (in the client's
    /// order) is selected. Empty: none is selected, unless `acceptsAnyOffered`.
    public var subprotocols: [String]
    /// With `subprotocols` empty, select the client's first offered subprotocol, whatever
    /// it is: a test server that answers what it is asked. RFC 6455 §4.2.2 item 5.4 lets
    /// the server pick any one it offered; a client that offers some and gets none back
    /// fails the connection (browsers, Node `ws`), and Node's `ws` server accepts the
    /// first by default for that reason.
    public var acceptsAnyOffered: Bool
    /// Extensions the server can run (e.g. permessage-deflate).
    public var negotiators: [any ServerExtensionNegotiator]
    /// The `Server` header value, if any (Autobahn's fuzzing client names the agent after it).
    public var serverName: String?

    public init(
      subprotocols: [String] = [], acceptsAnyOffered: Bool = false,
      negotiators: [any ServerExtensionNegotiator] = [], serverName: String? = nil
    ) {
      self.subprotocols = subprotocols
      self.acceptsAnyOffered = acceptsAnyOffered
      self.negotiators = negotiators
      self.serverName = serverName
    }
  }

  /// Why a request was refused, with the HTTP status the server answers.
  public enum RequestError: Error, Sendable, Hashable, CustomStringConvertible {
    case head(HTTPHeadParser.ParseError)
    case invalidRequestLine(String)
    case methodNotGET(String)
    case notHTTP11(String)
    case missingHost
    case multipleHosts
    /// `Upgrade` missing or without the `websocket` token (426: this is a WebSocket endpoint).
    case missingUpgrade(String?)
    case missingConnectionUpgrade(String?)
    /// `Sec-WebSocket-Version` missing or not 13 (426 with `Sec-WebSocket-Version: 13`, §4.4).
    case unsupportedVersion(String?)
    case missingKey
    case multipleKeys
    case invalidKey(String)
    case invalidSubprotocols(String)
    case malformedExtensions(String)

    /// 426 for a request that is not a WebSocket upgrade or asks for another version; 400 otherwise.
    public var status: Int {
      switch self {
      case .missingUpgrade, .unsupportedVersion: return 426
      default: return 400
      }
    }

    public var description: String {
      switch self {
      case .head(.headTooLarge(let limit)): return "HTTP request head larger than \(limit) bytes"
      case .head(let e): return e.description
      case .invalidRequestLine(let l): return "invalid HTTP request line: \(l)"
      case .methodNotGET(let m): return "method \(m) is not allowed (a WebSocket handshake is a GET)"
      case .notHTTP11(let v): return "HTTP version \(v) cannot upgrade (HTTP/1.1 is required)"
      case .missingHost: return "missing Host header"
      case .multipleHosts: return "more than one Host header"
      case .missingUpgrade(let v):
        return v == nil ? "missing Upgrade: websocket header" : "invalid Upgrade header: \(v!)"
      case .missingConnectionUpgrade(let v):
        return v == nil ? "missing Connection header" : "invalid Connection header: \(v!)"
      case .unsupportedVersion(let v):
        return v == nil
          ? "missing Sec-WebSocket-Version header"
          : "unsupported Sec-WebSocket-Version: \(v!) (13 is supported)"
      case .missingKey: return "missing Sec-WebSocket-Key header"
      case .multipleKeys: return "more than one Sec-WebSocket-Key header"
      case .invalidKey(let k): return "invalid Sec-WebSocket-Key (not base64 of 16 bytes): \(k)"
      case .invalidSubprotocols(let v): return "invalid Sec-WebSocket-Protocol header: \(v)"
      case .malformedExtensions(let why): return why
      }
    }

    /// The complete error response: status line, headers and a one-line plain-text body.
    public var responseBytes: [UInt8] {
      let reason = status == 426 ? "Upgrade Required" : "Bad Request"
      var body = ""
      for scalar in description.unicodeScalars {
        body.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar)
      }
      body += "\n"
      var lines = ["HTTP/1.1 \(status) \(reason)"]
      if status == 426 {
        lines.append("Upgrade: websocket")
        lines.append("Sec-WebSocket-Version: 13")
      }
      lines += [
        "Content-Type: text/plain; charset=utf-8", "Content-Length: \(body.utf8.count)", "Connection: close",
      ]
      return Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }
  }

  /// A valid upgrade request and what the server agreed to.
  public struct Accepted: Sendable {
    public var head: HTTPHeadParser.Head
    /// The request target, e.g. "/chat?room=1".
    public var target: String
    public var key: String
    /// The subprotocol selected, if any.
    public var subprotocol: String?
    /// The subprotocols the client offered, in its order.
    public var offeredSubprotocols: [String]
    /// What was agreed for each accepted extension, in response order.
    public var negotiated: [any NegotiatedExtension]
    /// The response lines (without the final empty line), as `-v` shows them.
    public var responseLines: [String]

    /// The 101 response to send.
    public var responseBytes: [UInt8] {
      Array((responseLines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }
  }

  public let options: Options
  private var parser = HTTPHeadParser()

  public init(options: Options = Options()) {
    self.options = options
  }

  /// True once some request bytes arrived (a connection that sends nothing is not an error to report).
  public var hasPartialInput: Bool { parser.hasPartialInput }

  /// Feeds request bytes. Returns the accepted request and the index just past its head once
  /// the head is complete; bytes from that index on are frames. Throws for an invalid request:
  /// send `error.responseBytes` and close the connection.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) throws(RequestError) -> (Accepted, Int)? {
    let result: (HTTPHeadParser.Head, Int)?
    do {
      result = try parser.feed(bytes)
    } catch {
      throw .head(error)
    }
    guard let (head, used) = result else {
      try checkPartialRequestLine()
      return nil
    }
    return (try validate(head), used)
  }

  /// Rejects a request line that cannot be a GET as soon as its first bytes show it.
  private func checkPartialRequestLine() throws(RequestError) {
    if let line = parser.startLine {
      _ = try Self.parseRequestLine(line)
      return
    }
    let seen = parser.partialStartLine
    guard seen.count >= 4 else { return }
    if !seen.starts(with: Array("GET ".utf8)) {
      let method = seen.prefix { HTTPHeadParser.isTokenByte($0) }
      if method.count == seen.count || seen[seen.startIndex + method.count] == UInt8(ascii: " "),
        !method.isEmpty
      {
        throw .methodNotGET(String(decoding: method, as: UTF8.self))
      }
      throw .invalidRequestLine(Self.printable(seen))
    }
  }

  private static func printable<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = ""
    for b in bytes.prefix(200) {
      s.unicodeScalars.append(b >= 0x20 && b < 0x7F ? Unicode.Scalar(b) : "?")
    }
    return s
  }

  /// `GET SP request-target SP HTTP/1.1` (RFC 9112 §3); returns the target.
  static func parseRequestLine(_ line: String) throws(RequestError) -> String {
    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy(HTTPHeadParser.isTokenByte),
      !parts[1].isEmpty, parts[1].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
    else {
      throw .invalidRequestLine(printable(line.utf8))
    }
    guard parts[0] == "GET" else { throw .methodNotGET(String(parts[0])) }
    guard parts[2] == "HTTP/1.1" else {
      throw parts[2].hasPrefix("HTTP/")
        ? .notHTTP11(printable(parts[2].utf8)) : .invalidRequestLine(printable(line.utf8))
    }
    return String(parts[1])
  }

  /// Checks a complete request (§4.2.1) and builds the response (§4.2.2).
  func validate(_ head: HTTPHeadParser.Head) throws(RequestError) -> Accepted {
    let target = try Self.parseRequestLine(head.startLine)
    let host = head.values("Host")
    guard !host.isEmpty else { throw .missingHost }
    guard host.count == 1 else { throw .multipleHosts }

    let upgrade = head.values("Upgrade")
    guard
      upgrade.flatMap({ HTTPHeadParser.commaList($0) }).contains(where: { $0.lowercased() == "websocket" })
    else {
      throw .missingUpgrade(upgrade.isEmpty ? nil : Self.printable(upgrade.joined(separator: ", ").utf8))
    }
    let connection = head.values("Connection")
    guard
      connection.flatMap({ HTTPHeadParser.commaList($0) }).contains(where: { $0.lowercased() == "upgrade" })
    else {
      throw .missingConnectionUpgrade(
        connection.isEmpty ? nil : Self.printable(connection.joined(separator: ", ").utf8))
    }
    let version = head.values("Sec-WebSocket-Version")
    guard version.count == 1, version[0] == "13" else {
      throw .unsupportedVersion(version.isEmpty ? nil : Self.printable(version.joined(separator: ", ").utf8))
    }
    let keys = head.values("Sec-WebSocket-Key")
    guard !keys.isEmpty else { throw .missingKey }
    guard keys.count == 1 else { throw .multipleKeys }
    let key = keys[0]
    guard key.utf8.count == 24, let decoded = Base64.decode(Array(key.utf8)), decoded.count == 16 else {
      throw .invalidKey(Self.printable(key.utf8))
    }

    // Subprotocols: a list of tokens (§4.1 item 10); the client's first that we speak.
    var offered: [String] = []
    for value in head.values("Sec-WebSocket-Protocol") {
      for p in value.split(separator: ",", omittingEmptySubsequences: false) {
        let t = p.trimmingSpaces()
        guard !t.isEmpty, t.utf8.allSatisfy(HTTPHeadParser.isTokenByte) else {
          throw .invalidSubprotocols(Self.printable(value.utf8))
        }
        offered.append(String(t))
      }
    }
    let subprotocol =
      options.subprotocols.isEmpty && options.acceptsAnyOffered
      ? offered.first : offered.first { options.subprotocols.contains($0) }

    var offers: [ExtensionOffer] = []
    for value in head.values("Sec-WebSocket-Extensions") {
      do {
        offers += try ExtensionOffer.parseList(value)
      } catch {
        throw .malformedExtensions(error.description)
      }
    }
    var elements: [String] = []
    var negotiated: [any NegotiatedExtension] = []
    for negotiator in options.negotiators {
      let mine = offers.filter { $0.name.lowercased() == negotiator.name.lowercased() }
      guard !mine.isEmpty, let (element, agreed) = negotiator.respond(to: mine) else { continue }
      elements.append(element)
      negotiated.append(agreed)
    }

    var lines = [
      "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
      "Sec-WebSocket-Accept: \(ClientHandshake.acceptValue(forKey: key))",
    ]
    if let subprotocol { lines.append("Sec-WebSocket-Protocol: \(subprotocol)") }
    if !elements.isEmpty { lines.append("Sec-WebSocket-Extensions: \(elements.joined(separator: ", "))") }
    if let name = options.serverName { lines.append("Server: \(name)") }
    return Accepted(
      head: head, target: target, key: key, subprotocol: subprotocol, offeredSubprotocols: offered,
      negotiated: negotiated,
      responseLines: lines)
  }
}
