import WebSocketProtocol

/// One `--jsonl-input` line: an object with exactly one command member.
///
///     {"text": "hello"}                 a text message
///     {"binary": "AAH/"}                a binary message (base64)
///     {"ping": "payload"}               a Ping (at most 125 bytes of UTF-8); its Pong's RTT
///                                       is in the --jsonl `pong` event
///     {"pong": "payload"}               an unsolicited Pong
///     {"close": {"code": 1000, "reason": "bye"}}   the closing handshake ({} for 1000);
///                                       later lines are not read
///     {"sleep": 0.5}                    wait (seconds, at most 3600) before the next line
enum JSONCommand: Equatable {
  case message(Message.Kind, [UInt8])
  case ping([UInt8])
  case pong([UInt8])
  case close(code: UInt16, reason: String)
  case sleep(Double)

  struct Invalid: Error {
    var message: String
  }

  static func parse(_ line: [UInt8]) throws(Invalid) -> JSONCommand {
    let value: JSON
    do {
      value = try JSON.parse(line)
    } catch {
      throw Invalid(message: "invalid JSON at byte \(error.offset + 1): \(error.message)")
    }
    guard case .object(let members) = value else { throw Invalid(message: "expected a JSON object") }
    guard members.count == 1, let member = members.first else {
      throw Invalid(message: "expected exactly one command (text, binary, ping, pong, close or sleep)")
    }
    let (name, argument) = (member.name, member.value)
    switch name {
    case "text":
      guard case .string(let s) = argument else { throw Invalid(message: "\"text\" takes a string") }
      return .message(.text, Array(s.utf8))
    case "binary":
      guard case .string(let s) = argument, let bytes = Base64.decode(Array(s.utf8)) else {
        throw Invalid(message: "\"binary\" takes a base64 string")
      }
      return .message(.binary, bytes)
    case "ping", "pong":
      var payload: [UInt8] = []
      switch argument {
      case .string(let s): payload = Array(s.utf8)
      case .null: break
      default: throw Invalid(message: "\"\(name)\" takes a string (or null)")
      }
      // RFC 6455 §5.5: control frames carry at most 125 bytes.
      guard payload.count <= 125 else { throw Invalid(message: "a \(name) payload is at most 125 bytes") }
      return name == "ping" ? .ping(payload) : .pong(payload)
    case "close":
      var code = CloseCode.normalClosure
      var reason = ""
      switch argument {
      case .null: break
      case .object:
        if let c = argument["code"] {
          guard case .number(let n) = c, let v = UInt16(n.text),
            CloseCode.isValidOnWire(v)
          else { throw Invalid(message: "\"close\" code must be 1000–1003, 1007–1014 or 3000–4999") }
          code = v
        }
        if let r = argument["reason"] {
          guard case .string(let s) = r else { throw Invalid(message: "\"close\" reason must be a string") }
          guard s.utf8.count <= 123 else { throw Invalid(message: "a close reason is at most 123 bytes") }
          reason = s
        }
      default: throw Invalid(message: "\"close\" takes an object {\"code\": …, \"reason\": …}")
      }
      return .close(code: code, reason: reason)
    case "sleep":
      guard case .number(let n) = argument, case let s = n.value, s >= 0, s <= 3600 else {
        throw Invalid(message: "\"sleep\" takes seconds, 0 to 3600")
      }
      return .sleep(s)
    default:
      throw Invalid(message: "unknown command \"\(name)\" (text, binary, ping, pong, close or sleep)")
    }
  }
}

/// Reads `--jsonl-input` commands from stdin and hands each to `perform`, until EOF,
/// `stopFD`, or `perform` returns false. A blank line is skipped; a line that is not a
/// command, or is longer than `maxSize`, is reported on stderr with its number and not
/// performed, and the reading goes on (client and listen mode alike).
func readJSONCommands(
  separator: UInt8, maxSize: Int, stopFD: Int32 = -1, perform: (JSONCommand) -> Bool
) -> InputReader.Outcome {
  var reader = InputReader(separator: separator, maxSize: maxSize, stopFD: stopFD)
  var lineNumber = 0
  return reader.run(
    message: { line in
      lineNumber += 1
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
      let command: JSONCommand
      do throws(JSONCommand.Invalid) {
        command = try JSONCommand.parse(Array(line))
      } catch {
        Terminal.error("input line \(lineNumber): \(error.message); not sent")
        return true
      }
      return perform(command)
    },
    onOversized: { _ in
      lineNumber += 1
      Terminal.error(
        "input line \(lineNumber) is larger than --max-message-size (\(maxSize) bytes); not sent")
    })
}
