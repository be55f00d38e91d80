/// The client side of the opening handshake (RFC 6455 §4.1, §4.2.2): builds the request and
/// validates the response, without doing any I/O.
public struct ClientHandshake: Sendable {
  /// What the request asks for.
  public struct Options: Sendable {
    public var uri: WebSocketURI
    public var origin: String?
    public var subprotocols: [String]
    /// `Sec-WebSocket-Extensions` offers, each element as it goes on the wire.
    public var extensions: [String]
    /// Extensions the client can run (e.g. permessage-deflate): each adds its offer after
    /// `extensions` and validates the server's answer.
    public var negotiators: [any ExtensionNegotiator]
    /// Extra header fields, in order.
    public var headers: [(name: String, value: String)]
    /// Replaces the `Host` value derived from the URI.
    public var hostOverride: String?
    /// `user:pass` for Basic authentication; the URI's userinfo is used when nil.
    public var basicAuth: (user: String, password: String)?
    /// Sec-WebSocket-Version: 13 (RFC 6455); 8 (hybi-08) is accepted for old servers.
    public var version: Int

    public init(
      uri: WebSocketURI, origin: String? = nil, subprotocols: [String] = [], extensions: [String] = [],
      negotiators: [any ExtensionNegotiator] = [], headers: [(name: String, value: String)] = [],
      hostOverride: String? = nil,
      basicAuth: (user: String, password: String)? = nil, version: Int = 13
    ) {
      self.uri = uri
      self.origin = origin
      self.subprotocols = subprotocols
      self.extensions = extensions
      self.negotiators = negotiators
      self.headers = headers
      self.hostOverride = hostOverride
      self.basicAuth = basicAuth
      self.version = version
    }
  }

  /// A request that cannot be sent. Each is a usage error: nothing went on the wire.
  public enum RequestError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidHeaderName(String)
    /// CR, LF, NUL or another control character in a value (RFC 9110 §5.5).
    case invalidHeaderValue(name: String)
    case invalidSubprotocol(String)
    case duplicateSubprotocol(String)
    case unsupportedVersion(Int)
    case reservedHeader(String)

    public var description: String {
      switch self {
      case .invalidHeaderName(let n): return "invalid header name \"\(n)\""
      case .invalidHeaderValue(let n): return "header \"\(n)\" contains a control character (CR, LF, NUL…)"
      case .invalidSubprotocol(let s):
        return "invalid subprotocol \"\(s)\" (a non-empty token of printable ASCII without separators)"
      case .duplicateSubprotocol(let s): return "subprotocol \"\(s)\" given twice"
      case .unsupportedVersion(let v): return "unsupported protocol version \(v) (13, or 8)"
      case .reservedHeader(let n): return "header \"\(n)\" is set by wsc and cannot be overridden"
      }
    }
  }

  /// Why a response was refused (§4.1: "the client MUST _Fail the WebSocket Connection_").
  public enum ResponseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection closed before the head was complete.
    case connectionClosed(whileReading: String)
    /// The connection closed before the whole request was sent.
    case connectionClosedWhileSending
    case invalidStatusLine(String)
    /// A complete response with a status other than 101.
    case unexpectedStatus(code: Int, reason: String, head: HTTPHeadParser.Head)
    case head(HTTPHeadParser.ParseError)
    case missingUpgrade(String?)
    case missingConnectionUpgrade(String?)
    case missingAccept
    case multipleAccept
    case wrongAccept(String)
    case unexpectedExtension(String)
    case malformedExtensions(String)
    /// An offered extension accepted with parameters we cannot agree to (RFC 7692 §5).
    case extensionRejected(name: String, reason: String)
    /// The same extension accepted twice.
    case duplicateExtension(String)
    case unexpectedSubprotocol(String)
    case multipleSubprotocols

    public var description: String {
      switch self {
      case .connectionClosed(let what): return "connection closed while reading \(what)"
      case .connectionClosedWhileSending: return "connection closed while sending the HTTP request"
      case .invalidStatusLine(let l): return "invalid HTTP status line: \(l)"
      case .unexpectedStatus(let code, let reason, _):
        return "server rejected WebSocket connection: HTTP \(code) \(reason)"
      case .head(let e): return e.description
      case .missingUpgrade(let v):
        return v == nil ? "missing Upgrade header" : "invalid Upgrade header: \(v!)"
      case .missingConnectionUpgrade(let v):
        return v == nil ? "missing Connection header" : "invalid Connection header: \(v!)"
      case .missingAccept: return "missing Sec-WebSocket-Accept header"
      case .multipleAccept: return "more than one Sec-WebSocket-Accept header"
      case .wrongAccept(let v): return "invalid Sec-WebSocket-Accept header: \(v)"
      case .unexpectedExtension(let n): return "server accepted an extension that was not offered: \(n)"
      case .malformedExtensions(let why): return why
      case .extensionRejected(let name, let reason): return "invalid \(name) response: \(reason)"
      case .duplicateExtension(let name): return "server accepted \(name) more than once"
      case .unexpectedSubprotocol(let p): return "server chose a subprotocol that was not offered: \(p)"
      case .multipleSubprotocols: return "server chose more than one subprotocol"
      }
    }
  }

  /// The accepted handshake.
  public struct Response: Sendable {
    public var head: HTTPHeadParser.Head
    public var subprotocol: String?
    /// Extensions the server accepted, in order; each name was offered.
    public var extensions: [ExtensionOffer]
    /// What was agreed for the extensions of `Options.negotiators` that the server accepted.
    public var negotiated: [any NegotiatedExtension] = []
  }

  public let options: Options
  /// The `Sec-WebSocket-Key` sent: base64 of 16 random bytes (§4.1 item 7).
  public let key: String
  private var parser = HTTPHeadParser()
  private var interimResponses = 0

  /// Builds a handshake, checking every user-supplied value. `random` supplies the 16 key bytes.
  public init<R: RandomNumberGenerator>(options: Options, random: inout R) throws(RequestError) {
    guard options.version == 13 || options.version == 8 else { throw .unsupportedVersion(options.version) }
    var seen: Set<String> = []
    for p in options.subprotocols {
      guard !p.isEmpty, p.utf8.allSatisfy(HTTPHeadParser.isTokenByte) else { throw .invalidSubprotocol(p) }
      guard seen.insert(p).inserted else { throw .duplicateSubprotocol(p) }
    }
    let reserved: Set<String> = [
      "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
    ]
    for h in options.headers {
      guard !h.name.isEmpty, h.name.utf8.allSatisfy(HTTPHeadParser.isTokenByte) else {
        throw .invalidHeaderName(h.name)
      }
      guard Self.isValidValue(h.value) else { throw .invalidHeaderValue(name: h.name) }
      if reserved.contains(h.name.lowercased()) { throw .reservedHeader(h.name) }
    }
    for (name, value) in [("Origin", options.origin), ("Host", options.hostOverride)] {
      if let value, !Self.isValidValue(value) || value.isEmpty { throw .invalidHeaderValue(name: name) }
    }
    if let auth = options.basicAuth, !Self.isValidValue(auth.user + auth.password) {
      throw .invalidHeaderValue(name: "Authorization")
    }
    for e in options.extensions + options.negotiators.map(\.offer) where !Self.isValidValue(e) {
      throw .invalidHeaderValue(name: "Sec-WebSocket-Extensions")
    }
    var keyBytes: [UInt8] = []
    for _ in 0..<2 {
      let r = random.next() as UInt64
      for s in 0..<8 { keyBytes.append(UInt8(truncatingIfNeeded: r >> (UInt64(s) * 8))) }
    }
    self.options = options
    self.key = Base64.encodeString(keyBytes)
  }

  /// Builds a handshake keyed with a cryptographic random source.
  public init(options: Options) throws(RequestError) {
    var rng = SystemRandomNumberGenerator()
    try self.init(options: options, random: &rng)
  }

  private static func isValidValue(_ v: String) -> Bool {
    v.utf8.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }
  }

  /// `Sec-WebSocket-Accept` for `key`: base64(SHA-1(key + GUID)) (§4.2.2 item 5.4, §1.3).
  public static func acceptValue(forKey key: String) -> String {
    Base64.encodeString(SHA1.hash(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
  }

  /// The header lines of the request, as `-v` shows them (Authorization masked) or as sent.
  public func requestLines(redactingCredentials: Bool = false) -> [String] {
    let uri = options.uri
    var lines = ["GET \(uri.resource) HTTP/1.1", "Host: \(options.hostOverride ?? uri.hostHeader)"]
    lines.append("Upgrade: websocket")
    lines.append("Connection: Upgrade")
    lines.append("Sec-WebSocket-Key: \(key)")
    lines.append("Sec-WebSocket-Version: \(options.version)")
    if let origin = options.origin { lines.append("Origin: \(origin)") }
    if !options.subprotocols.isEmpty {
      lines.append("Sec-WebSocket-Protocol: \(options.subprotocols.joined(separator: ", "))")
    }
    let offers = options.extensions + options.negotiators.map(\.offer)
    if !offers.isEmpty {
      lines.append("Sec-WebSocket-Extensions: \(offers.joined(separator: ", "))")
    }
    let userAuth = options.headers.contains { $0.name.lowercased() == "authorization" }
    if !userAuth, let credentials = options.basicAuth ?? uri.user.map({ ($0, uri.password ?? "") }) {
      let value = Base64.encodeString(Array("\(credentials.0):\(credentials.1)".utf8))
      lines.append("Authorization: Basic \(redactingCredentials ? "<redacted>" : value)")
    }
    for h in options.headers {
      let sensitive = ["authorization", "cookie", "proxy-authorization"].contains(h.name.lowercased())
      lines.append("\(h.name): \(redactingCredentials && sensitive ? "<redacted>" : h.value)")
    }
    return lines
  }

  /// The request bytes (§4.1 items 1–12).
  public func requestBytes() -> [UInt8] {
    Array((requestLines().joined(separator: "\r\n") + "\r\n\r\n").utf8)
  }

  /// Feeds response bytes. Returns the accepted response and the index just past its head
  /// once complete; bytes from that index on are already WebSocket frames (§4.1: the server
  /// may send them right after the 101) and must be fed to the connection.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) throws(ResponseError) -> (Response, Int)? {
    var offset = 0
    while offset < bytes.count {
      let result: (HTTPHeadParser.Head, Int)?
      do {
        result = try parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
      } catch {
        throw .head(error)
      }
      guard let (head, used) = result else {
        try checkStartLine()
        return nil
      }
      offset += used
      let (code, reason) = try Self.parseStatusLine(head.startLine)
      // RFC 9110 §15.2: interim 1xx responses (100 Continue, 103 Early Hints) precede the final one.
      if code >= 100 && code < 200 && code != 101 {
        interimResponses += 1
        guard interimResponses <= 8 else { throw .invalidStatusLine(head.startLine) }
        parser = HTTPHeadParser()
        continue
      }
      guard code == 101 else { throw .unexpectedStatus(code: code, reason: reason, head: head) }
      return (try validate(head), offset)
    }
    return nil
  }

  /// Rejects a response that cannot be HTTP as soon as its first bytes show it, rather than
  /// waiting for a line that may never end.
  private func checkStartLine() throws(ResponseError) {
    if let line = parser.startLine {
      _ = try Self.parseStatusLine(line)
    } else {
      let seen = parser.partialStartLine
      let plausible = ["HTTP/1.1 ", "HTTP/1.0 "].contains { Array($0.utf8).starts(with: seen.prefix(9)) }
      if !plausible {
        throw .invalidStatusLine(String(decoding: seen, as: UTF8.self))
      }
    }
  }

  /// Reports EOF from the transport before the response was complete.
  public func receiveEOF() -> ResponseError {
    .connectionClosed(whileReading: parser.hasStartLine ? "HTTP headers" : "HTTP status line")
  }

  /// Parses `HTTP/1.x SP 3DIGIT SP reason` (RFC 9112 §4). An HTTP/1.0 server cannot upgrade
  /// (RFC 6455 §4.1 item 1 needs HTTP/1.1), but its error response (`openssl s_server
  /// -www` answers `HTTP/1.0 200 ok`) is still a rejection with a status worth reporting;
  /// only a 1xx from it is invalid, as HTTP/1.0 has none.
  static func parseStatusLine(_ line: String) throws(ResponseError) -> (Int, String) {
    guard let status = HTTPHeadParser.statusLine(line),
      status.minorVersion == UInt8(ascii: "1")
        || (status.minorVersion == UInt8(ascii: "0") && status.code >= 200)
    else {
      throw .invalidStatusLine(line)
    }
    return (status.code, status.reason)
  }

  /// Checks a 101 response (§4.1, items 2–6 of the response checks).
  func validate(_ head: HTTPHeadParser.Head) throws(ResponseError) -> Response {
    let upgrade = head.values("Upgrade")
    guard upgrade.count == 1,
      HTTPHeadParser.commaList(upgrade[0]).contains(where: { $0.lowercased() == "websocket" })
    else {
      throw .missingUpgrade(upgrade.isEmpty ? nil : upgrade.joined(separator: ", "))
    }
    let connection = head.values("Connection")
    guard
      connection.flatMap({ HTTPHeadParser.commaList($0) }).contains(where: { $0.lowercased() == "upgrade" })
    else {
      throw .missingConnectionUpgrade(connection.isEmpty ? nil : connection.joined(separator: ", "))
    }
    let accept = head.values("Sec-WebSocket-Accept")
    guard !accept.isEmpty else { throw .missingAccept }
    guard accept.count == 1 else { throw .multipleAccept }
    guard accept[0] == Self.acceptValue(forKey: key) else { throw .wrongAccept(accept[0]) }

    var extensions: [ExtensionOffer] = []
    var negotiated: [any NegotiatedExtension] = []
    var acceptedNames: Set<String> = []
    let offeredNames = Set(
      options.extensions.compactMap { (try? ExtensionOffer.parseList($0))?.first?.name.lowercased() }
        + options.negotiators.map { $0.name.lowercased() })
    for value in head.values("Sec-WebSocket-Extensions") {
      let list: [ExtensionOffer]
      do {
        list = try ExtensionOffer.parseList(value)
      } catch {
        throw .malformedExtensions(error.description)
      }
      for e in list {
        let name = e.name.lowercased()
        guard offeredNames.contains(name) else { throw .unexpectedExtension(e.name) }
        // One element per extension: a second permessage-deflate would leave RSV1 ambiguous.
        guard acceptedNames.insert(name).inserted else { throw .duplicateExtension(e.name) }
        if let negotiator = options.negotiators.first(where: { $0.name.lowercased() == name }) {
          do {
            negotiated.append(try negotiator.accept(e))
          } catch {
            throw .extensionRejected(name: e.name, reason: error.description)
          }
        }
        extensions.append(e)
      }
    }

    var subprotocol: String? = nil
    let protocols = head.values("Sec-WebSocket-Protocol")
    if !protocols.isEmpty {
      let list = protocols.flatMap { HTTPHeadParser.commaList($0) }
      guard list.count == 1 else { throw .multipleSubprotocols }
      guard options.subprotocols.contains(String(list[0])) else {
        throw .unexpectedSubprotocol(String(list[0]))
      }
      subprotocol = String(list[0])
    }
    return Response(head: head, subprotocol: subprotocol, extensions: extensions, negotiated: negotiated)
  }
}
