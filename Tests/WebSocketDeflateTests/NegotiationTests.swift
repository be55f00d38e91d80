import Testing
import WebSocketDeflate
import WebSocketProtocol

private func element(_ text: String) -> ExtensionOffer {
  try! ExtensionOffer.parseList(text)[0]
}

/// RFC 7692 §5, §7.1 negotiation (CHECKLIST O1–O5, case 47).
@Suite("RFC 7692 §7.1 negotiation")
struct NegotiationTests {
  @Test("§5.1: wsc's standard offer adds a fallback with client_no_context_takeover")
  func standardOfferHasAFallback() throws {
    let standard = PerMessageDeflate.standard
    #expect(
      standard.offer
        == "permessage-deflate; client_max_window_bits, permessage-deflate; client_no_context_takeover; client_max_window_bits"
    )
    // Two elements of one header, both valid offers.
    #expect(try ExtensionOffer.parseList(standard.offer).count == 2)
    // The answer says which offer was taken: with client_no_context_takeover, the second.
    #expect(
      try standard.parameters(accepting: element("permessage-deflate; client_no_context_takeover"))
        == DeflateParameters(clientNoContextTakeover: true))
    #expect(try standard.parameters(accepting: element("permessage-deflate")) == DeflateParameters())
    // A fallback of an offer that already resets its context would be the same offer twice.
    #expect(
      PerMessageDeflate(clientNoContextTakeover: true, fallbackWithoutContextTakeover: true).offer
        == "permessage-deflate; client_no_context_takeover; client_max_window_bits")
  }

  @Test("the default offer is permessage-deflate; client_max_window_bits")
  func defaultOffer() {
    #expect(PerMessageDeflate().offer == "permessage-deflate; client_max_window_bits")
    #expect(
      PerMessageDeflate(
        clientMaxWindowBits: .value(12), serverMaxWindowBits: 10, serverNoContextTakeover: true,
        clientNoContextTakeover: true
      ).offer
        == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
    )
  }

  @Test(
    "valid responses are accepted",
    arguments: [
      ("permessage-deflate", DeflateParameters()),
      (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
      ),
      (
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=15",
        DeflateParameters(serverMaxWindowBits: 10, clientMaxWindowBits: 15)
      ),
      ("permessage-deflate; client_max_window_bits=\"9\"", DeflateParameters(clientMaxWindowBits: 9)),
      ("permessage-deflate; server_max_window_bits=8", DeflateParameters(serverMaxWindowBits: 8)),
      ("permessage-deflate; client_max_window_bits=8", DeflateParameters(clientMaxWindowBits: 8)),
    ])
  func valid(response: String, expected: DeflateParameters) throws {
    #expect(try PerMessageDeflate().parameters(accepting: element(response)) == expected)
  }

  @Test(
    "O2–O4 / #47: unknown, repeated, malformed or unoffered parameters are refused",
    arguments: [
      "permessage-deflate; foo",
      "permessage-deflate; foo=1",
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=08",
      "permessage-deflate; server_max_window_bits=abc",
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
      "permessage-deflate; client_no_context_takeover=1",
      "permessage-deflate; server_no_context_takeover=true",
      "permessage-deflate; client_max_window_bits",
      "permessage-deflate; client_max_window_bits=16",
      "permessage-deflate; client_max_window_bits=0x9",
    ])
  func invalid(response: String) {
    #expect(throws: ExtensionNegotiationError.self) {
      try PerMessageDeflate().parameters(accepting: element(response))
    }
  }

  @Test("O3: client_max_window_bits in a response needs an offer, and no larger than offered")
  func clientWindowOffer() throws {
    let notOffered = PerMessageDeflate(clientMaxWindowBits: .omitted)
    #expect(throws: ExtensionNegotiationError.self) {
      try notOffered.parameters(accepting: element("permessage-deflate; client_max_window_bits=10"))
    }
    let twelve = PerMessageDeflate(clientMaxWindowBits: .value(12))
    #expect(throws: ExtensionNegotiationError.self) {
      try twelve.parameters(accepting: element("permessage-deflate; client_max_window_bits=13"))
    }
    // Offered 12, no answer: we still keep to 12.
    #expect(try twelve.parameters(accepting: element("permessage-deflate")).clientMaxWindowBits == 12)
  }

  @Test("O4: server_max_window_bits above the offered value fails; unoffered is fine")
  func serverWindowOffer() throws {
    let ten = PerMessageDeflate(serverMaxWindowBits: 10)
    #expect(throws: ExtensionNegotiationError.self) {
      try ten.parameters(accepting: element("permessage-deflate; server_max_window_bits=12"))
    }
    #expect(throws: ExtensionNegotiationError.self) {
      try ten.parameters(accepting: element("permessage-deflate"))
    }
    #expect(
      try PerMessageDeflate().parameters(accepting: element("permessage-deflate; server_max_window_bits=10"))
        .serverMaxWindowBits == 10)
  }

  @Test("O5: server_no_context_takeover is accepted unrequested; a requested one must be echoed")
  func noContextTakeover() throws {
    #expect(
      try PerMessageDeflate().parameters(accepting: element("permessage-deflate; server_no_context_takeover"))
        .serverNoContextTakeover)
    #expect(throws: ExtensionNegotiationError.self) {
      try PerMessageDeflate(serverNoContextTakeover: true).parameters(
        accepting: element("permessage-deflate"))
    }
  }

  @Test("-v line")
  func description() {
    #expect(
      DeflateParameters(serverNoContextTakeover: true, clientMaxWindowBits: 15).description
        == "permessage-deflate: server_no_context_takeover, client_max_window_bits=15")
    #expect(DeflateParameters().description == "permessage-deflate: no parameters")
  }
}

/// The whole client handshake with the deflate negotiator plugged in.
@Suite("ClientHandshake with permessage-deflate")
struct HandshakeTests {
  func respond(_ extensions: [String]) throws(ClientHandshake.ResponseError) -> ClientHandshake.Response? {
    var rng = SplitMix64(seed: 1)
    var hs = try! ClientHandshake(
      options: .init(uri: try! WebSocketURI(parsing: "ws://h/"), negotiators: [PerMessageDeflate()]),
      random: &rng)
    let head =
      ([
        "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Accept: \(ClientHandshake.acceptValue(forKey: hs.key))",
      ] + extensions.map { "Sec-WebSocket-Extensions: \($0)" }).map { $0 + "\r\n" }.joined() + "\r\n"
    var result: Result<ClientHandshake.Response?, ClientHandshake.ResponseError> = .success(nil)
    Array(head.utf8).withUnsafeBytes { raw in
      do throws(ClientHandshake.ResponseError) {
        result = .success(try hs.receive(raw)?.0)
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  @Test("the request carries the offer")
  func request() throws {
    var rng = SplitMix64(seed: 1)
    let hs = try ClientHandshake(
      options: .init(uri: try WebSocketURI(parsing: "ws://h/"), negotiators: [PerMessageDeflate()]),
      random: &rng)
    #expect(
      hs.requestLines().contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
  }

  @Test("O1: no extension in the response → nothing negotiated")
  func declined() throws {
    let r = try respond([])
    #expect(r?.negotiated.isEmpty == true)
  }

  @Test("accepted → the negotiated parameters")
  func accepted() throws {
    let r = try respond(["permessage-deflate; server_no_context_takeover; client_max_window_bits=15"])
    #expect(
      r?.negotiated.first as? DeflateParameters
        == DeflateParameters(serverNoContextTakeover: true, clientMaxWindowBits: 15))
  }

  @Test("bad parameters, two elements, or an unknown extension → ResponseError")
  func refused() {
    for ext in [
      ["permessage-deflate; foo"], ["permessage-deflate, permessage-deflate"],
      ["permessage-deflate", "permessage-deflate"], ["x-webkit-deflate-frame"],
      ["permessage-deflate; server_max_window_bits=08"],
    ] {
      #expect(throws: ClientHandshake.ResponseError.self, "\(ext)") { try respond(ext) }
    }
  }
}

/// The server side of the negotiation, for listen mode.
@Suite("permessage-deflate server negotiation")
struct ServerNegotiationTests {
  @Test(
    "client offers → agreed parameters",
    arguments: [
      ("permessage-deflate; client_max_window_bits", DeflateParameters()),
      ("permessage-deflate", DeflateParameters()),
      (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
      ),
      ("permessage-deflate; server_max_window_bits=10", DeflateParameters(serverMaxWindowBits: 10)),
      ("permessage-deflate; client_max_window_bits=11", DeflateParameters(clientMaxWindowBits: 11)),
      // The first offer is invalid (unknown parameter) and skipped.
      (
        "permessage-deflate; foo, permessage-deflate; server_no_context_takeover",
        DeflateParameters(serverNoContextTakeover: true)
      ),
    ])
  func offers(header: String, expected: DeflateParameters) throws {
    let offers = try ExtensionOffer.parseList(header)
    #expect(PerMessageDeflateServer().negotiate(offers) == expected)
  }

  @Test("invalid offers are declined")
  func declined() throws {
    for header in [
      "permessage-deflate; foo", "permessage-deflate; server_max_window_bits", "x-foo",
      "permessage-deflate; client_max_window_bits=16", "permessage-deflate; server_no_context_takeover=1",
    ] {
      #expect(PerMessageDeflateServer().negotiate(try ExtensionOffer.parseList(header)) == nil, "\(header)")
    }
  }

  @Test("the server's limits and the response element; the client accepts what the server chose")
  func limits() throws {
    let server = PerMessageDeflateServer(
      requireClientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 10)
    let agreed = try #require(
      server.negotiate(try ExtensionOffer.parseList("permessage-deflate; client_max_window_bits")))
    #expect(
      agreed.responseElement
        == "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10"
    )
    let clientView = try PerMessageDeflate().parameters(
      accepting: try ExtensionOffer.parseList(agreed.responseElement)[0])
    #expect(clientView == agreed)
  }
}
