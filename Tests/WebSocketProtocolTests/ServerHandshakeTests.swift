import Testing
import WebSocketProtocol

/// The RFC 6455 §1.3 example key and its accept value.
private let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
private let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/// A request head: the request line and header lines, CRLF-terminated, then `body`.
private func request(_ line: String, _ headers: [String], body: [UInt8] = []) -> [UInt8] {
  ascii(([line] + headers).map { $0 + "\r\n" }.joined() + "\r\n") + body
}

/// A `GET /chat` request with `headers`, then `body`.
private func request(_ headers: [String], body: [UInt8] = []) -> [UInt8] {
  request("GET /chat HTTP/1.1", headers, body: body)
}

/// The headers of a minimal valid request, with `extra` after them.
private func validHeaders(_ extra: [String] = []) -> [String] {
  [
    "Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
    "Sec-WebSocket-Key: \(sampleKey)", "Sec-WebSocket-Version: 13",
  ] + extra
}

/// The outcome of feeding a request in some chunking.
private enum ServerResult {
  case accepted(ServerHandshake.Accepted, rest: [UInt8])
  case refused(ServerHandshake.RequestError)
  case incomplete
}

private func run(_ options: ServerHandshake.Options, _ chunks: [[UInt8]]) -> ServerResult {
  var handshake = ServerHandshake(options: options)
  for (n, chunk) in chunks.enumerated() {
    var outcome: Result<(ServerHandshake.Accepted, Int)?, ServerHandshake.RequestError> = .success(nil)
    chunk.withUnsafeBytes { raw in
      do throws(ServerHandshake.RequestError) {
        outcome = .success(try handshake.receive(raw))
      } catch {
        outcome = .failure(error)
      }
    }
    switch outcome {
    case .success(let accepted?):
      return .accepted(accepted.0, rest: Array(chunk[accepted.1...]) + chunks[(n + 1)...].joined())
    case .success(nil): continue
    case .failure(let error): return .refused(error)
    }
  }
  return .incomplete
}

/// Feeds `bytes` whole and byte by byte; both must accept with the same response and rest.
private func accept(
  _ bytes: [UInt8], options: ServerHandshake.Options = .init()
) -> (ServerHandshake.Accepted, [UInt8])? {
  var first: (ServerHandshake.Accepted, [UInt8])?
  for (name, chunks) in choppings(bytes, everySplit: false) {
    guard case .accepted(let a, let rest) = run(options, chunks) else {
      Issue.record("\(name): not accepted")
      return nil
    }
    if let first {
      #expect(first.0.responseLines == a.responseLines, "\(name)")
      #expect(first.1 == rest, "\(name)")
    } else {
      first = (a, rest)
    }
  }
  return first
}

/// Feeds `bytes` whole and byte by byte; both must refuse with `expected`.
private func expectRefused(
  _ bytes: [UInt8], _ expected: ServerHandshake.RequestError, status: Int,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  for (name, chunks) in choppings(bytes, everySplit: false) {
    guard case .refused(let error) = run(.init(), chunks) else {
      Issue.record("\(name): not refused", sourceLocation: sourceLocation)
      continue
    }
    #expect(error == expected, "\(name)", sourceLocation: sourceLocation)
    #expect(error.status == status, "\(name)", sourceLocation: sourceLocation)
  }
}

/// A fake extension that accepts any offer of "x-test" and echoes its first element.
private struct EchoNegotiator: ServerExtensionNegotiator {
  struct Agreed: NegotiatedExtension {
    var description: String { "x-test" }
    func makeExtension(role: Role) -> any MessageExtension { fatalError("not used") }
  }
  var name: String { "x-test" }
  func respond(to offers: [ExtensionOffer]) -> (element: String, agreed: any NegotiatedExtension)? {
    offers.first.map { ($0.description, Agreed()) }
  }
}

@Suite("RFC 6455 §4.2 opening handshake: the server side")
struct ServerHandshakeTests {
  @Test("§4.2.2 item 5: a valid request is answered with 101, Upgrade, Connection and the §1.3 accept value")
  func acceptsValidRequest() throws {
    let (accepted, rest) = try #require(accept(request(validHeaders())))
    #expect(accepted.target == "/chat")
    #expect(accepted.key == sampleKey)
    #expect(accepted.subprotocol == nil)
    #expect(
      accepted.responseLines == [
        "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Accept: \(sampleAccept)",
      ])
    #expect(accepted.responseBytes.suffix(4) == ascii("\r\n\r\n"))
    #expect(rest.isEmpty)
  }

  @Test("§4.2.1: header names and tokens are case-insensitive; Connection may list other tokens")
  func caseInsensitive() throws {
    let headers = [
      "host: a", "UPGRADE: WebSocket", "connection: keep-alive, Upgrade", "sec-websocket-key: \(sampleKey)",
      "SEC-WEBSOCKET-VERSION: 13",
    ]
    #expect(accept(request(headers)) != nil)
  }

  @Test("§4.2.1: frames sent right after the request head are not consumed")
  func bytesAfterTheHead() throws {
    let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    let (_, rest) = try #require(accept(request(validHeaders(), body: frame)))
    #expect(rest == frame)
  }

  @Test("§4.2.1 item 1: only GET is accepted, and only HTTP/1.1")
  func methodAndVersion() {
    expectRefused(request("POST /chat HTTP/1.1", validHeaders()), .methodNotGET("POST"), status: 400)
    expectRefused(request("GET /chat HTTP/1.0", validHeaders()), .notHTTP11("HTTP/1.0"), status: 400)
    expectRefused(request("GET  HTTP/1.1", validHeaders()), .invalidRequestLine("GET  HTTP/1.1"), status: 400)
  }

  @Test("§4.2.1: garbage that cannot be an HTTP request is refused from its first bytes")
  func garbage() {
    // A TLS ClientHello sent to a ws:// listener: refused after four bytes, not at 64 KiB.
    let bytes: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00]
    for (name, chunks) in choppings(bytes, everySplit: false) {
      guard case .refused(let error) = run(.init(), chunks) else {
        Issue.record("\(name): not refused")
        continue
      }
      guard case .invalidRequestLine = error else {
        Issue.record("\(name): \(error)")
        continue
      }
      #expect(error.status == 400)
    }
  }

  @Test("§4.2.1 item 2: a Host header is required, once")
  func host() {
    expectRefused(request(Array(validHeaders().dropFirst())), .missingHost, status: 400)
    expectRefused(request(validHeaders(["Host: b"])), .multipleHosts, status: 400)
  }

  @Test("§4.2.1 items 3–4: Upgrade: websocket (else 426) and Connection: Upgrade (else 400)")
  func upgradeAndConnection() {
    let noUpgrade = validHeaders().filter { !$0.hasPrefix("Upgrade") }
    expectRefused(request(noUpgrade), .missingUpgrade(nil), status: 426)
    let h2c = validHeaders().map { $0.hasPrefix("Upgrade") ? "Upgrade: h2c" : $0 }
    expectRefused(request(h2c), .missingUpgrade("h2c"), status: 426)
    let close = validHeaders().map { $0.hasPrefix("Connection") ? "Connection: close" : $0 }
    expectRefused(request(close), .missingConnectionUpgrade("close"), status: 400)
  }

  @Test("§4.2.1 item 5: Sec-WebSocket-Key must decode to 16 bytes, once")
  func key() {
    let noKey = validHeaders().filter { !$0.hasPrefix("Sec-WebSocket-Key") }
    expectRefused(request(noKey), .missingKey, status: 400)
    for bad in ["abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSE=", "dGhlIHNhbXBsZSBub25j*Q=="] {
      let headers = validHeaders().map {
        $0.hasPrefix("Sec-WebSocket-Key") ? "Sec-WebSocket-Key: \(bad)" : $0
      }
      expectRefused(request(headers), .invalidKey(bad), status: 400)
    }
    expectRefused(request(validHeaders(["Sec-WebSocket-Key: \(sampleKey)"])), .multipleKeys, status: 400)
  }

  @Test("§4.2.1 item 6, §4.4: a version other than 13 gets 426 with Sec-WebSocket-Version: 13")
  func version() throws {
    let v8 = validHeaders().map { $0.hasPrefix("Sec-WebSocket-Version") ? "Sec-WebSocket-Version: 8" : $0 }
    expectRefused(request(v8), .unsupportedVersion("8"), status: 426)
    let none = validHeaders().filter { !$0.hasPrefix("Sec-WebSocket-Version") }
    expectRefused(request(none), .unsupportedVersion(nil), status: 426)
    let text = String(
      decoding: ServerHandshake.RequestError.unsupportedVersion("8").responseBytes, as: UTF8.self)
    #expect(text.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
    #expect(text.contains("\r\nSec-WebSocket-Version: 13\r\n"))
    #expect(text.contains("\r\nConnection: close\r\n"))
  }

  @Test("§4.2.2 item 5.4: the subprotocol is the client's first one the server speaks")
  func subprotocol() throws {
    let options = ServerHandshake.Options(subprotocols: ["b", "c"])
    let (a, _) = try #require(
      accept(
        request(validHeaders(["Sec-WebSocket-Protocol: a, c", "Sec-WebSocket-Protocol: b"])), options: options
      ))
    #expect(a.subprotocol == "c")
    #expect(a.responseLines.contains("Sec-WebSocket-Protocol: c"))
    let (none, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Protocol: x"])), options: options))
    #expect(none.subprotocol == nil)
    #expect(!none.responseLines.contains { $0.hasPrefix("Sec-WebSocket-Protocol") })
    expectRefused(
      request(validHeaders(["Sec-WebSocket-Protocol: a b"])), .invalidSubprotocols("a b"), status: 400)
  }

  @Test("§4.2.2 item 5.4: acceptsAnyOffered selects the client's first offer; none offered, none selected")
  func anySubprotocol() throws {
    let any = ServerHandshake.Options(acceptsAnyOffered: true)
    let (a, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Protocol: chat, superchat"])), options: any))
    #expect(a.subprotocol == "chat")
    #expect(a.offeredSubprotocols == ["chat", "superchat"])
    #expect(a.responseLines.contains("Sec-WebSocket-Protocol: chat"))
    let (plain, _) = try #require(accept(request(validHeaders([])), options: any))
    #expect(plain.subprotocol == nil)
    #expect(!plain.responseLines.contains { $0.hasPrefix("Sec-WebSocket-Protocol") })
    // A list still restricts the choice, and nothing is selected without the flag.
    let listed = ServerHandshake.Options(subprotocols: ["superchat"], acceptsAnyOffered: true)
    let (b, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Protocol: chat, superchat"])), options: listed))
    #expect(b.subprotocol == "superchat")
    let (c, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Protocol: chat"])), options: ServerHandshake.Options()))
    #expect(c.subprotocol == nil)
    #expect(c.offeredSubprotocols == ["chat"])
  }

  @Test("§4.2.2 item 5.5, §9.1: extensions are negotiated through the negotiators; a malformed header is 400")
  func extensions() throws {
    let options = ServerHandshake.Options(negotiators: [EchoNegotiator()], serverName: "wsc")
    let (a, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Extensions: x-other, x-test; p=1"])), options: options))
    #expect(a.responseLines.contains("Sec-WebSocket-Extensions: x-test; p=1"))
    #expect(a.responseLines.contains("Server: wsc"))
    #expect(a.negotiated.count == 1)
    let (plain, _) = try #require(
      accept(request(validHeaders(["Sec-WebSocket-Extensions: x-other"])), options: options))
    #expect(plain.negotiated.isEmpty)
    for (name, chunks) in choppings(
      request(validHeaders(["Sec-WebSocket-Extensions: x-test;;"])), everySplit: false)
    {
      guard case .refused(let e) = run(options, chunks), case .malformedExtensions = e else {
        Issue.record("\(name): a malformed extension header was not refused")
        continue
      }
      #expect(e.status == 400)
    }
  }

  @Test("§10.4 limits: an oversized request head is refused with 400, not buffered")
  func limits() {
    let long = request(validHeaders(["X-Long: " + String(repeating: "a", count: 9000)]))
    expectRefused(long, .head(.lineTooLong(limit: 8192)), status: 400)
    let many = request(validHeaders((0..<200).map { "X-\($0): v" }))
    expectRefused(many, .head(.tooManyHeaders(limit: 128)), status: 400)
    let text = String(decoding: ServerHandshake.RequestError.missingKey.responseBytes, as: UTF8.self)
    #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    #expect(text.hasSuffix("\r\n\r\nmissing Sec-WebSocket-Key header\n"))
  }
}
