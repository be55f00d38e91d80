/// One element of a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1): a name and parameters.
public struct ExtensionOffer: Sendable, Hashable, CustomStringConvertible {
  public var name: String
  /// Parameters in order; the value is nil for a parameter without "=" (quotes removed).
  public var parameters: [Parameter]

  public struct Parameter: Sendable, Hashable {
    public var name: String
    public var value: String?
    public init(name: String, value: String?) {
      self.name = name
      self.value = value
    }
  }

  public init(name: String, parameters: [Parameter] = []) {
    self.name = name
    self.parameters = parameters
  }

  public var description: String {
    ([name] + parameters.map { p in p.value.map { "\(p.name)=\($0)" } ?? p.name }).joined(separator: "; ")
  }

  /// Why a header did not follow the §9.1 grammar.
  public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
  }

  /// Parses a header value in one pass (linear time: no backtracking, so no ReDoS).
  ///
  ///     extension-list = 1#extension
  ///     extension = extension-token *( ";" extension-param )
  ///     extension-param = token [ "=" (token | quoted-string) ]
  public static func parseList(_ value: String) throws(ParseError) -> [ExtensionOffer] {
    let bytes = Array(value.utf8)
    var i = 0
    var result: [ExtensionOffer] = []

    func skipSpaces() {
      while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
    }
    func token() -> String? {
      let start = i
      while i < bytes.count && HTTPHeadParser.isTokenByte(bytes[i]) { i += 1 }
      return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }
    func fail(_ what: String) -> ParseError {
      ParseError(description: "malformed Sec-WebSocket-Extensions header (\(what) at byte \(i))")
    }

    while true {
      skipSpaces()
      guard let name = token() else { throw fail("expected an extension name") }
      var offer = ExtensionOffer(name: name)
      skipSpaces()
      while i < bytes.count && bytes[i] == UInt8(ascii: ";") {
        i += 1
        skipSpaces()
        guard let pname = token() else { throw fail("expected a parameter name") }
        skipSpaces()
        var pvalue: String? = nil
        if i < bytes.count && bytes[i] == UInt8(ascii: "=") {
          i += 1
          skipSpaces()
          if i < bytes.count && bytes[i] == UInt8(ascii: "\"") {
            i += 1
            var v: [UInt8] = []
            var closed = false
            while i < bytes.count {
              let c = bytes[i]
              i += 1
              if c == UInt8(ascii: "\\") {
                guard i < bytes.count else { break }
                v.append(bytes[i])
                i += 1
              } else if c == UInt8(ascii: "\"") {
                closed = true
                break
              } else {
                v.append(c)
              }
            }
            guard closed else { throw fail("unterminated quoted string") }
            // §9.1: a quoted value must itself be a token.
            guard !v.isEmpty, v.allSatisfy(HTTPHeadParser.isTokenByte) else {
              throw fail("quoted value is not a token")
            }
            pvalue = String(decoding: v, as: UTF8.self)
          } else {
            guard let t = token() else { throw fail("expected a parameter value") }
            pvalue = t
          }
          skipSpaces()
        }
        offer.parameters.append(Parameter(name: pname, value: pvalue))
      }
      result.append(offer)
      if i == bytes.count { return result }
      guard bytes[i] == UInt8(ascii: ",") else { throw fail("unexpected character") }
      i += 1
    }
  }
}
