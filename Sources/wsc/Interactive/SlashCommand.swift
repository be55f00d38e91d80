import WebSocketProtocol

/// What one line typed at the interactive prompt asks for. Parsing is a pure function of
/// the line, so every command's syntax lives here and the prompt loop only acts on it.
enum PromptInput: Equatable {
  /// Send a text message (a plain line, or `//text` sending `/text`).
  case text(String)
  case binary([UInt8])
  case ping([UInt8])
  case pong([UInt8])
  /// Start the closing handshake.
  case close(code: UInt16, reason: String)
  case help
  case quit
  /// A mistake in a command: shown to the user, nothing is sent.
  case invalid(String)

  static let helpText = """
    Commands:
      /ping [data]            send a Ping; the round-trip time is shown when the Pong arrives
      /pong [data]            send an unsolicited Pong
      /close [code [reason]]  close the connection (default 1000)
      /binary <hex>           send a binary message, e.g. /binary 00 01 ff
      /binary base64:<data>   send a binary message given in base64
      /help                   show this help
      /quit                   close (1000) and exit; Ctrl-D does the same
      //text                  send "/text" as a text message
    """

  /// Parses one line as typed (without its newline).
  static func parse(_ line: String) -> PromptInput {
    guard line.hasPrefix("/") else { return .text(line) }
    if line.hasPrefix("//") { return .text(String(line.dropFirst())) }
    let body = line.dropFirst()
    let name: Substring
    var argument: Substring = ""
    if let space = body.firstIndex(where: { $0 == " " || $0 == "\t" }) {
      name = body[..<space]
      argument = body[body.index(after: space)...]
    } else {
      name = body
    }
    switch name {
    case "ping", "pong":
      let data = Array(argument.utf8)
      guard data.count <= 125 else {
        return .invalid("/\(name) data is \(data.count) bytes; a control frame holds at most 125")
      }
      return name == "ping" ? .ping(data) : .pong(data)
    case "close": return parseClose(argument)
    case "binary": return parseBinary(argument)
    case "help", "?": return .help
    case "quit", "exit", "q": return .quit
    default:
      return .invalid(
        "unknown command /\(Terminal.escape(String(name))); nothing sent (/help lists commands, //text sends /text)"
      )
    }
  }

  private static func parseClose(_ argument: Substring) -> PromptInput {
    let trimmed = argument.drop(while: { $0 == " " })
    if trimmed.isEmpty { return .close(code: CloseCode.normalClosure, reason: "") }
    let codeText = trimmed.prefix(while: { $0 != " " })
    var reason = trimmed.dropFirst(codeText.count)
    if reason.first == " " { reason = reason.dropFirst() }
    guard let code = UInt16(codeText), CloseCode.isValidOnWire(code) else {
      return .invalid(
        "/close: \(Terminal.escape(String(codeText))) is not a close code that may be sent (1000–1003, 1007–1014, 3000–4999)"
      )
    }
    guard reason.utf8.count <= 123 else {
      return .invalid("/close: the reason is \(reason.utf8.count) bytes; a Close frame holds at most 123")
    }
    return .close(code: code, reason: String(reason))
  }

  private static func parseBinary(_ argument: Substring) -> PromptInput {
    let text = argument.trimmingSpaces()
    if text.hasPrefix("base64:") {
      let encoded = text.dropFirst("base64:".count).filter { $0 != " " }
      guard let data = Base64.decode(Array(encoded.utf8)) else {
        return .invalid("/binary: invalid base64")
      }
      return .binary(data)
    }
    guard let data = hexBytes(text) else {
      return .invalid("/binary expects hex bytes (00 01 ff or 0001ff) or base64:<data>")
    }
    return .binary(data)
  }

  /// "00 01 ff", "0001ff", "0x00 0x01" → bytes; nil for anything else.
  static func hexBytes(_ text: Substring) -> [UInt8]? {
    var digits: [UInt8] = []
    for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == ":" }) {
      var w = Substring(word)
      if w.hasPrefix("0x") || w.hasPrefix("0X") { w = w.dropFirst(2) }
      guard w.utf8.count % 2 == 0 else { return nil }
      for c in w.utf8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
      }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var i = 0
    while i + 1 < digits.count {
      bytes.append(digits[i] << 4 | digits[i + 1])
      i += 2
    }
    return bytes
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var s = drop(while: { $0 == " " || $0 == "\t" })
    while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
    return s
  }
}
