import Testing
import WebSocketProtocol

/// A handshake for `uri` keyed from a seeded generator.
func makeHandshake(
  _ uri: String = "ws://example.com/chat", origin: String? = nil, subprotocols: [String] = [],
  extensions: [String] = [], headers: [(name: String, value: String)] = [], hostOverride: String? = nil,
  seed: UInt64 = 1
) throws -> ClientHandshake {
  var rng = SplitMix64(seed: seed)
  let options = ClientHandshake.Options(
    uri: try WebSocketURI(parsing: uri), origin: origin, subprotocols: subprotocols, extensions: extensions,
    headers: headers, hostOverride: hostOverride)
  return try ClientHandshake(options: options, random: &rng)
}

/// The request's lines, checked to end with an empty line.
private func requestLines(_ handshake: ClientHandshake) -> [String] {
  let bytes = handshake.requestBytes()
  #expect(bytes.suffix(4) == ascii("\r\n\r\n"))
  // Split on CRLF byte pairs (in a String, "\r\n" is a single Character).
  var lines: [String] = []
  var start = 0
  var i = 0
  while i + 1 < bytes.count {
    if bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
      lines.append(String(decoding: bytes[start..<i], as: UTF8.self))
      i += 2
      start = i
    } else {
      #expect(bytes[i] != 0x0D && bytes[i] != 0x0A, "bare CR or LF in the request")
      i += 1
    }
  }
  #expect(lines.last == "", "the head ends with an empty line")
  #expect(lines.dropLast().allSatisfy { !$0.isEmpty }, "an empty line inside the head")
  return Array(lines.dropLast())
}

@Suite("RFC 6455 §4.1 opening handshake: the request")
struct HandshakeRequestTests {
  @Test(
    "GET line, Host, Upgrade, Connection, a 16-byte key, version 13, Origin, protocols, extensions, headers")
  func requestFields() throws {
    let handshake = try makeHandshake(
      "ws://[::1]:8080/x?y=1", origin: "http://example.com", subprotocols: ["chat", "superchat"],
      extensions: ["permessage-deflate; client_max_window_bits"],
      headers: [("X-Custom", "a b"), ("Cookie", "c=1")])
    let lines = requestLines(handshake)
    #expect(lines.first == "GET /x?y=1 HTTP/1.1")
    #expect(lines.contains("Host: [::1]:8080"))
    #expect(lines.contains("Upgrade: websocket"))
    #expect(lines.contains("Connection: Upgrade"))
    #expect(lines.contains("Sec-WebSocket-Version: 13"))
    #expect(lines.contains("Origin: http://example.com"))
    #expect(lines.contains("Sec-WebSocket-Protocol: chat, superchat"))
    #expect(lines.contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
    #expect(lines.contains("X-Custom: a b"))
    #expect(lines.contains("Cookie: c=1"))
    #expect(lines.filter { $0.hasPrefix("Host:") }.count == 1)

    let keyLines = lines.filter { $0.hasPrefix("Sec-WebSocket-Key: ") }
    #expect(keyLines == ["Sec-WebSocket-Key: \(handshake.key)"])
    #expect(Base64.decode(ascii(handshake.key))?.count == 16)
    #expect(handshake.key.utf8.count == 24)
  }

  @Test("the key is base64 of 16 bytes from the injected generator")
  func keyFromGenerator() throws {
    let handshake = try makeHandshake(seed: 77)
    var rng = SplitMix64(seed: 77)
    var expected: [UInt8] = []
    for _ in 0..<2 {
      let r = rng.next()
      for s in 0..<8 { expected.append(UInt8(truncatingIfNeeded: r >> (8 * UInt64(s)))) }
    }
    #expect(Base64.decode(ascii(handshake.key)) == expected)
  }

  @Test("a minimal request has no Origin, protocol or extension lines; Host omits the default port")
  func minimalRequest() throws {
    let lines = requestLines(try makeHandshake("wss://example.com"))
    #expect(lines.first == "GET / HTTP/1.1")
    #expect(lines.contains("Host: example.com"))
    #expect(!lines.contains { $0.hasPrefix("Origin") || $0.hasPrefix("Sec-WebSocket-Protocol") })
    #expect(!lines.contains { $0.hasPrefix("Sec-WebSocket-Extensions") })
  }

  @Test("the resource keeps %23 verbatim (A2)")
  func percentInRequestLine() throws {
    #expect(requestLines(try makeHandshake("ws://127.0.0.1:9/a%23b")).first == "GET /a%23b HTTP/1.1")
  }

  @Test("URL credentials become Basic auth; the redacted lines hide them (A5)")
  func credentials() throws {
    let handshake = try makeHandshake("ws://u:s3cret@h/", headers: [("Cookie", "sid=s3cret2")])
    #expect(
      requestLines(handshake).contains("Authorization: Basic \(Base64.encodeString(ascii("u:s3cret")))"))
    let redacted = handshake.requestLines(redactingCredentials: true).joined(separator: "\n")
    #expect(!redacted.contains(Base64.encodeString(ascii("u:s3cret"))))
    #expect(!redacted.contains("s3cret"))
  }

  @Test(
    "CR, LF or NUL in a header value, origin or host is refused (A4)",
    arguments: ["b\r\nX-Evil: 1", "b\nX-Evil: 1", "b\rX", "b\u{0}", "\u{1B}[2J", "\u{7F}"])
  func injection(value: String) throws {
    #expect(throws: ClientHandshake.RequestError.invalidHeaderValue(name: "X-A")) {
      try makeHandshake(headers: [("X-A", value)])
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderValue(name: "Origin")) {
      try makeHandshake(origin: "http://a" + value)
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderValue(name: "Host")) {
      try makeHandshake(hostOverride: "h" + value)
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderValue(name: "Sec-WebSocket-Extensions")) {
      try makeHandshake(extensions: ["x" + value])
    }
    #expect(throws: ClientHandshake.RequestError.invalidSubprotocol("a" + value)) {
      try makeHandshake(subprotocols: ["a" + value])
    }
  }

  @Test("a tab is allowed in a header value; names must be tokens; reserved headers are refused")
  func headerNames() throws {
    #expect(requestLines(try makeHandshake(headers: [("X-A", "a\tb")])).contains("X-A: a\tb"))
    #expect(throws: ClientHandshake.RequestError.invalidHeaderName("X A")) {
      try makeHandshake(headers: [("X A", "v")])
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderName("X:A")) {
      try makeHandshake(headers: [("X:A", "v")])
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderName("")) {
      try makeHandshake(headers: [("", "v")])
    }
    #expect(throws: ClientHandshake.RequestError.reservedHeader("Sec-WebSocket-Key")) {
      try makeHandshake(headers: [("Sec-WebSocket-Key", "x")])
    }
    #expect(throws: ClientHandshake.RequestError.invalidHeaderValue(name: "Host")) {
      try makeHandshake(hostOverride: "")
    }
  }

  @Test(
    "invalid subprotocols are refused (E5)",
    arguments: ["a b", "", "a,b", "a/b", "a;b", "\"a\"", "é", "a\r\nb"])
  func invalidSubprotocol(name: String) {
    #expect(throws: ClientHandshake.RequestError.invalidSubprotocol(name)) {
      try makeHandshake(subprotocols: ["ok", name])
    }
  }

  @Test("a duplicate subprotocol is refused (E5)")
  func duplicateSubprotocol() {
    #expect(throws: ClientHandshake.RequestError.duplicateSubprotocol("x")) {
      try makeHandshake(subprotocols: ["x", "y", "x"])
    }
  }

  @Test("only versions 13 and 8 can be requested")
  func versions() throws {
    let uri = try WebSocketURI(parsing: "ws://h/")
    #expect(throws: ClientHandshake.RequestError.unsupportedVersion(7)) {
      try ClientHandshake(options: .init(uri: uri, version: 7))
    }
  }

  @Test("1,000 handshakes with the system generator use 1,000 distinct 16-byte keys (E3)")
  func distinctKeys() throws {
    let options = ClientHandshake.Options(uri: try WebSocketURI(parsing: "ws://h/"))
    var keys: Set<String> = []
    for _ in 0..<1000 {
      let handshake = try ClientHandshake(options: options)
      #expect(Base64.decode(ascii(handshake.key))?.count == 16)
      keys.insert(handshake.key)
    }
    #expect(keys.count == 1000)
  }
}
