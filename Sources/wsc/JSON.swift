import WebSocketProtocol

/// The JSON that `--jsonl` writes and `--jsonl-input` reads (RFC 8259), without Foundation.
///
/// Parsing is bounded: a line is at most `--max-message-size` (InputReader), nesting at
/// most 32 levels, and the input must be valid UTF-8 (RFC 8259 §8.1). Numbers are read as
/// `Double`. Writing escapes `"`, `\` and every control character, so any string a server
/// sends becomes valid JSON on one line.
enum JSON {
  case null
  case bool(Bool)
  /// The number as written (so re-rendering never rounds 12345678901234567890).
  case number(Number)

  struct Number {
    let text: String
    var value: Double { Double(text) ?? .nan }
  }
  case string(String)
  case array([JSON])
  /// Members in order; a repeated name keeps its last value in `subscript`.
  case object([Member])

  /// One `"name": value` of an object.
  struct Member {
    var name: String
    var value: JSON
  }

  subscript(key: String) -> JSON? {
    guard case .object(let members) = self else { return nil }
    return members.last { $0.name == key }?.value
  }

  /// What a line failed on, for the stderr message.
  struct ParseError: Error {
    var message: String
    var offset: Int
  }

  static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSON {
    guard UTF8Validator.isValid(bytes) else { throw ParseError(message: "not valid UTF-8", offset: 0) }
    var parser = Parser(bytes: bytes)
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.at == bytes.count else {
      throw ParseError(message: "unexpected text after the value", offset: parser.at)
    }
    return value
  }

  private struct Parser {
    let bytes: [UInt8]
    var at = 0

    mutating func skipSpace() {
      while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
    }

    func fail(_ message: String) -> ParseError { ParseError(message: message, offset: at) }

    mutating func literal(_ word: String, _ value: JSON) throws(ParseError) -> JSON {
      let w = Array(word.utf8)
      guard bytes.count - at >= w.count, Array(bytes[at..<at + w.count]) == w else {
        throw fail("invalid literal")
      }
      at += w.count
      return value
    }

    mutating func value(depth: Int) throws(ParseError) -> JSON {
      guard depth < 32 else { throw fail("nested more than 32 levels") }
      guard at < bytes.count else { throw fail("unexpected end of the line") }
      switch bytes[at] {
      case UInt8(ascii: "{"): return try object(depth: depth)
      case UInt8(ascii: "["): return try array(depth: depth)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): return try literal("true", .bool(true))
      case UInt8(ascii: "f"): return try literal("false", .bool(false))
      case UInt8(ascii: "n"): return try literal("null", .null)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
      default: throw fail("unexpected character")
      }
    }

    mutating func object(depth: Int) throws(ParseError) -> JSON {
      at += 1
      var members: [Member] = []
      skipSpace()
      if at < bytes.count && bytes[at] == UInt8(ascii: "}") {
        at += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        let name = try string()
        skipSpace()
        guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        at += 1
        skipSpace()
        members.append(Member(name: name, value: try value(depth: depth + 1)))
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end of the line in an object") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        guard bytes[at] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
        at += 1
        return .object(members)
      }
    }

    mutating func array(depth: Int) throws(ParseError) -> JSON {
      at += 1
      var items: [JSON] = []
      skipSpace()
      if at < bytes.count && bytes[at] == UInt8(ascii: "]") {
        at += 1
        return .array(items)
      }
      while true {
        skipSpace()
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end of the line in an array") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        guard bytes[at] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
        at += 1
        return .array(items)
      }
    }

    mutating func hex4() throws(ParseError) -> UInt32 {
      guard bytes.count - at >= 4 else { throw fail("short \\u escape") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = bytes[at]
        let d: UInt32
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
        default: throw fail("invalid \\u escape")
        }
        v = v << 4 | d
        at += 1
      }
      return v
    }

    mutating func string() throws(ParseError) -> String {
      at += 1
      var out: [UInt8] = []
      while true {
        guard at < bytes.count else { throw fail("unterminated string") }
        let c = bytes[at]
        at += 1
        switch c {
        case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
        case 0..<0x20: throw fail("control character in a string")
        case UInt8(ascii: "\\"):
          guard at < bytes.count else { throw fail("unterminated string") }
          let e = bytes[at]
          at += 1
          switch e {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
          case UInt8(ascii: "b"): out.append(0x08)
          case UInt8(ascii: "f"): out.append(0x0C)
          case UInt8(ascii: "n"): out.append(0x0A)
          case UInt8(ascii: "r"): out.append(0x0D)
          case UInt8(ascii: "t"): out.append(0x09)
          case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
              guard bytes.count - at >= 6, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u")
              else {
                throw fail("lone surrogate in a \\u escape")
              }
              at += 2
              let low = try hex4()
              guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
              throw fail("lone surrogate in a \\u escape")
            }
            out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
          default: throw fail("invalid escape")
          }
        default: out.append(c)
        }
      }
    }

    mutating func number() throws(ParseError) -> JSON {
      let start = at
      if bytes[at] == UInt8(ascii: "-") { at += 1 }
      func digits(_ p: inout Parser) -> Int {
        let s = p.at
        while p.at < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.at]) {
          p.at += 1
        }
        return p.at - s
      }
      guard at < bytes.count else { throw fail("invalid number") }
      if bytes[at] == UInt8(ascii: "0") {
        at += 1
      } else if digits(&self) == 0 {
        throw fail("invalid number")
      }
      if at < bytes.count && bytes[at] == UInt8(ascii: ".") {
        at += 1
        guard digits(&self) > 0 else { throw fail("invalid number") }
      }
      if at < bytes.count && (bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E")) {
        at += 1
        if at < bytes.count && (bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-")) { at += 1 }
        guard digits(&self) > 0 else { throw fail("invalid number") }
      }
      let text = String(decoding: bytes[start..<at], as: UTF8.self)
      guard Double(text) != nil else { throw fail("invalid number") }
      return .number(Number(text: text))
    }
  }

  /// `s` as a JSON string literal: quotes, and `"`, `\` and controls escaped (RFC 8259 §7).
  static func quote<S: StringProtocol>(_ s: S) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _
      where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
        || scalar.value == 0x2028 || scalar.value == 0x2029:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
