import WebSocketProtocol

/// What both ends agreed for permessage-deflate (RFC 7692 §7.1), as seen from either role.
///
/// Window bits: the compressor of each side uses at most its agreed `…_max_window_bits`.
/// zlib cannot compress with a raw 8-bit window (deflateInit2 refuses windowBits -8, and
/// older versions silently used 9, producing data a strict 8-bit inflater rejects), so when
/// our side's window is limited to 8 we never compress: every message we send goes out
/// uncompressed with RSV1 = 0, which RFC 7692 §6 allows. Decompression always uses a
/// 15-bit window, which inflates anything a smaller window produced.
public struct DeflateParameters: Sendable, Hashable, NegotiatedExtension {
  public var serverNoContextTakeover = false
  public var clientNoContextTakeover = false
  public var serverMaxWindowBits: Int?
  public var clientMaxWindowBits: Int?
  /// zlib compression level (0–9) for what we send.
  public var compressionLevel: Int = 6
  /// zlib memLevel (1–9) for what we send.
  public var memoryLevel: Int = 8

  public init(
    serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
    serverMaxWindowBits: Int? = nil, clientMaxWindowBits: Int? = nil
  ) {
    self.serverNoContextTakeover = serverNoContextTakeover
    self.clientNoContextTakeover = clientNoContextTakeover
    self.serverMaxWindowBits = serverMaxWindowBits
    self.clientMaxWindowBits = clientMaxWindowBits
  }

  /// The parameters as they appear in a response element, in RFC order.
  public var parameterList: [String] {
    var list: [String] = []
    if serverNoContextTakeover { list.append("server_no_context_takeover") }
    if clientNoContextTakeover { list.append("client_no_context_takeover") }
    if let bits = serverMaxWindowBits { list.append("server_max_window_bits=\(bits)") }
    if let bits = clientMaxWindowBits { list.append("client_max_window_bits=\(bits)") }
    return list
  }

  /// The response element a server sends to accept with these parameters.
  public var responseElement: String {
    ([PerMessageDeflate.name] + parameterList).joined(separator: "; ")
  }

  /// For `-v`: "permessage-deflate: server_no_context_takeover, client_max_window_bits=15".
  public var description: String {
    let list = parameterList
    var text = "\(PerMessageDeflate.name): " + (list.isEmpty ? "no parameters" : list.joined(separator: ", "))
    if clientMaxWindowBits == 8 {
      text += " (zlib cannot compress with an 8-bit window: messages are sent uncompressed)"
    }
    return text
  }

  public func makeExtension(role: Role) -> any MessageExtension {
    DeflateCodec(parameters: self, role: role)
  }
}

/// permessage-deflate negotiation, client side (RFC 7692 §5, §7.1).
public struct PerMessageDeflate: ExtensionNegotiator {
  public static let name = "permessage-deflate"

  /// How `client_max_window_bits` appears in the offer.
  public enum WindowBitsOffer: Sendable, Hashable {
    /// Not offered: the server may not limit our window.
    case omitted
    /// Offered without a value: the server may answer with a limit of 8–15.
    case anyValue
    /// Offered with a value: our window is at most this, and so is the server's answer.
    case value(Int)
  }

  public var clientMaxWindowBits: WindowBitsOffer
  /// Asks the server for a window of at most this many bits.
  public var serverMaxWindowBits: Int?
  public var serverNoContextTakeover: Bool
  public var clientNoContextTakeover: Bool
  public var compressionLevel: Int
  /// Adds a second offer, the same with `client_no_context_takeover`, for servers that
  /// only agree to a client that resets its context (RFC 7692 §5.1: offers in order of
  /// preference). Any server that takes it says so with `client_no_context_takeover` in
  /// its response; one that accepts the first offer gets context takeover as before.
  public var fallbackWithoutContextTakeover: Bool

  /// The default offer is `permessage-deflate; client_max_window_bits`, then the same
  /// with `client_no_context_takeover`.
  public init(
    clientMaxWindowBits: WindowBitsOffer = .anyValue, serverMaxWindowBits: Int? = nil,
    serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false, compressionLevel: Int = 6,
    fallbackWithoutContextTakeover: Bool = false
  ) {
    self.clientMaxWindowBits = clientMaxWindowBits
    self.serverMaxWindowBits = serverMaxWindowBits
    self.serverNoContextTakeover = serverNoContextTakeover
    self.clientNoContextTakeover = clientNoContextTakeover
    self.compressionLevel = compressionLevel
    self.fallbackWithoutContextTakeover = fallbackWithoutContextTakeover && !clientNoContextTakeover
  }

  /// wsc's default: `permessage-deflate; client_max_window_bits, permessage-deflate;
  /// client_no_context_takeover; client_max_window_bits`.
  public static let standard = PerMessageDeflate(fallbackWithoutContextTakeover: true)

  public var name: String { Self.name }

  public var offer: String {
    guard fallbackWithoutContextTakeover else {
      return element(clientNoContextTakeover: clientNoContextTakeover)
    }
    return element(clientNoContextTakeover: false) + ", " + element(clientNoContextTakeover: true)
  }

  /// One offer element.
  private func element(clientNoContextTakeover: Bool) -> String {
    var list = [Self.name]
    if serverNoContextTakeover { list.append("server_no_context_takeover") }
    if clientNoContextTakeover { list.append("client_no_context_takeover") }
    if let bits = serverMaxWindowBits { list.append("server_max_window_bits=\(bits)") }
    switch clientMaxWindowBits {
    case .omitted: break
    case .anyValue: list.append("client_max_window_bits")
    case .value(let bits): list.append("client_max_window_bits=\(bits)")
    }
    return list.joined(separator: "; ")
  }

  /// Validates the server's response element strictly (RFC 7692 §5: "the client MUST
  /// _Fail the WebSocket Connection_" on an unknown or repeated parameter, an invalid
  /// value, or parameters it did not offer or cannot honour).
  public func accept(_ response: ExtensionOffer) throws(ExtensionNegotiationError) -> any NegotiatedExtension
  {
    try parameters(accepting: response)
  }

  /// `accept` with its concrete result.
  public func parameters(accepting response: ExtensionOffer) throws(ExtensionNegotiationError)
    -> DeflateParameters
  {
    var result = DeflateParameters()
    result.compressionLevel = compressionLevel
    var seen: Set<String> = []
    for p in response.parameters {
      let key = p.name.lowercased()
      guard seen.insert(key).inserted else { throw .init("parameter \(p.name) given twice") }
      switch key {
      case "server_no_context_takeover":
        guard p.value == nil else { throw .init("server_no_context_takeover takes no value") }
        result.serverNoContextTakeover = true
      case "client_no_context_takeover":
        guard p.value == nil else { throw .init("client_no_context_takeover takes no value") }
        result.clientNoContextTakeover = true
      case "server_max_window_bits":
        let bits = try Self.windowBits(p)
        if let offered = serverMaxWindowBits, bits > offered {
          throw .init("server_max_window_bits=\(bits) is larger than the \(offered) offered")
        }
        result.serverMaxWindowBits = bits
      case "client_max_window_bits":
        let bits = try Self.windowBits(p)
        switch clientMaxWindowBits {
        case .omitted: throw .init("client_max_window_bits was not offered")
        case .anyValue: break
        case .value(let offered):
          if bits > offered {
            throw .init("client_max_window_bits=\(bits) is larger than the \(offered) offered")
          }
        }
        result.clientMaxWindowBits = bits
      default:
        throw .init("unknown parameter \(p.name)")
      }
    }
    // §7.1.1.1, §7.1.2.1: a server accepts these requests by echoing them; one that drops
    // them has declined them and must not accept the offer at all.
    if serverNoContextTakeover && !result.serverNoContextTakeover {
      throw .init("server_no_context_takeover was requested but not accepted")
    }
    if let offered = serverMaxWindowBits, result.serverMaxWindowBits == nil {
      throw .init("server_max_window_bits=\(offered) was requested but not accepted")
    }
    // We offered these limits, so we keep to them whatever the answer (§7.1.1.2, §7.1.2.2).
    if clientNoContextTakeover { result.clientNoContextTakeover = true }
    if case .value(let offered) = clientMaxWindowBits, result.clientMaxWindowBits == nil {
      result.clientMaxWindowBits = offered
    }
    return result
  }

  /// A window size: a value 8–15 in decimal without leading zeros (§7.1.2.1, §7.1.2.2).
  static func windowBits(_ p: ExtensionOffer.Parameter) throws(ExtensionNegotiationError) -> Int {
    guard let text = p.value else { throw .init("\(p.name) needs a value (8–15)") }
    guard let bits = parseWindowBits(text) else {
      throw .init("\(p.name)=\(text) is not a window size (8–15)")
    }
    return bits
  }

  /// A window size as a parameter value: 8–15, decimal, no leading zero.
  public static func parseWindowBits(_ text: String) -> Int? {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty, bytes.count <= 2, bytes[0] != UInt8(ascii: "0"),
      bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      let n = Int(text), (8...15).contains(n)
    else { return nil }
    return n
  }
}

/// permessage-deflate negotiation, server side (for listen mode): picks the first
/// acceptable offer of a client's `Sec-WebSocket-Extensions` and builds the response.
public struct PerMessageDeflateServer: Sendable {
  /// Always ask the client to reset its compressor after each message.
  public var requireClientNoContextTakeover: Bool
  /// Reset our compressor after each message, whatever the client asks.
  public var serverNoContextTakeover: Bool
  /// Our compression window (9–15); the client may ask for less.
  public var serverMaxWindowBits: Int
  /// Limit the client's window when it offered `client_max_window_bits`.
  public var clientMaxWindowBits: Int?

  public init(
    requireClientNoContextTakeover: Bool = false, serverNoContextTakeover: Bool = false,
    serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int? = nil
  ) {
    self.requireClientNoContextTakeover = requireClientNoContextTakeover
    self.serverNoContextTakeover = serverNoContextTakeover
    self.serverMaxWindowBits = serverMaxWindowBits
    self.clientMaxWindowBits = clientMaxWindowBits
  }

  /// The parameters agreed for the first valid permessage-deflate offer, or nil to decline
  /// (then the response carries no permessage-deflate element). Offers with unknown,
  /// repeated or invalid parameters are skipped (RFC 7692 §5: the server declines them).
  /// Send `parameters.responseElement` in the response's `Sec-WebSocket-Extensions`.
  public func negotiate(_ offers: [ExtensionOffer]) -> DeflateParameters? {
    offerLoop: for offer in offers where offer.name.lowercased() == PerMessageDeflate.name {
      var seen: Set<String> = []
      var snct = false
      var cnct = false
      var serverBits: Int? = nil
      var clientOffered = false
      var clientBits: Int? = nil
      for p in offer.parameters {
        let key = p.name.lowercased()
        guard seen.insert(key).inserted else { continue offerLoop }
        switch key {
        case "server_no_context_takeover":
          guard p.value == nil else { continue offerLoop }
          snct = true
        case "client_no_context_takeover":
          guard p.value == nil else { continue offerLoop }
          cnct = true
        case "server_max_window_bits":
          guard let v = p.value, let bits = PerMessageDeflate.parseWindowBits(v) else { continue offerLoop }
          serverBits = bits
        case "client_max_window_bits":
          clientOffered = true
          if let v = p.value {
            guard let bits = PerMessageDeflate.parseWindowBits(v) else { continue offerLoop }
            clientBits = bits
          }
        default:
          continue offerLoop
        }
      }
      var result = DeflateParameters()
      result.serverNoContextTakeover = snct || serverNoContextTakeover
      result.clientNoContextTakeover = cnct || requireClientNoContextTakeover
      let ours = min(max(serverMaxWindowBits, 9), 15)
      if let asked = serverBits {
        result.serverMaxWindowBits = min(asked, ours)
      } else if ours < 15 {
        result.serverMaxWindowBits = ours
      }
      if clientOffered, let limit = clientMaxWindowBits {
        result.clientMaxWindowBits = min(clientBits ?? 15, min(max(limit, 8), 15))
      } else if let bits = clientBits {
        result.clientMaxWindowBits = bits
      }
      return result
    }
    return nil
  }
}

extension PerMessageDeflateServer: ServerExtensionNegotiator {
  public var name: String { PerMessageDeflate.name }

  public func respond(to offers: [ExtensionOffer]) -> (element: String, agreed: any NegotiatedExtension)? {
    guard let parameters = negotiate(offers) else { return nil }
    return (parameters.responseElement, parameters)
  }
}
