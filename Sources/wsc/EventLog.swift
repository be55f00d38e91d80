import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--jsonl`: every event of a session as one JSON object per line on stdout, in the order
/// the events happened (Docs/Events.md is the schema; `open` carries its `version`).
///
/// Each object has `event` and `ts` (RFC 3339, UTC, microseconds) first, then the event's
/// fields, and `client` in listen mode. Text is a JSON string (it is valid UTF-8: the
/// protocol checked it), binary data and control payloads are base64.
struct EventLog: Sendable {
  /// Bumped when a field changes meaning or goes away; new fields do not bump it.
  static let version = 1

  let output: OutputWriter
  /// The client's number in listen mode.
  var client: Int?

  /// A field's value, already JSON.
  struct Value {
    let json: String
    static func string<S: StringProtocol>(_ s: S) -> Value { Value(json: JSON.quote(s)) }
    static func int(_ n: Int) -> Value { Value(json: String(n)) }
    static func number(_ x: Double) -> Value {
      Value(json: x.isFinite ? String((x * 1000).rounded() / 1000) : "null")
    }
    static func bool(_ b: Bool) -> Value { Value(json: b ? "true" : "false") }
    static let null = Value(json: "null")
    static func base64(_ bytes: some Collection<UInt8>) -> Value { .string(Base64.encodeString(bytes)) }
    static func array(_ items: [Value]) -> Value {
      Value(json: "[" + items.map(\.json).joined(separator: ",") + "]")
    }
    static func object(_ fields: [(String, Value)]) -> Value {
      Value(json: "{" + fields.map { JSON.quote($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}")
    }
  }

  @discardableResult
  func emit(_ event: String, _ fields: [(String, Value)]) -> Bool {
    var all: [(String, Value)] = [("event", .string(event)), ("ts", .string(Self.timestamp()))]
    if let client { all.append(("client", .int(client))) }
    return output.writeLine(Value.object(all + fields).json)
  }

  /// Now, as RFC 3339 in UTC with microseconds: "2026-12-03T13:14:35.123456Z".
  static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ n: Int32, _ width: Int) -> String { zeroPadded(Int(n), width) }
    let micros = Int32(now.tv_nsec / 1000)
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
      + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(micros, 6))Z"
  }

  // MARK: The events

  func open(
    url: String, status: Int, subprotocol: String?, extensions: [String], headers: [(String, String)],
    handshakeSeconds: Double?
  ) {
    emit(
      "open",
      [
        ("version", .int(Self.version)), ("url", .string(url)), ("status", .int(status)),
        ("subprotocol", subprotocol.map { .string($0) } ?? .null),
        ("extensions", .array(extensions.map { .string($0) })),
        ("headers", .array(headers.map { .array([.string($0.0), .string($0.1)]) })),
        ("handshake_ms", handshakeSeconds.map { .number($0 * 1000) } ?? .null),
      ])
  }

  /// `open` for a client connection: the response as the client saw it.
  func open(_ response: ClientHandshake.Response, url: String, handshakeSeconds: Double) {
    open(
      url: url, status: 101, subprotocol: response.subprotocol,
      extensions: response.head.values("Sec-WebSocket-Extensions").flatMap {
        HTTPHeadParser.commaList($0).map(String.init)
      },
      headers: response.head.headers.map { ($0.name, $0.value) }, handshakeSeconds: handshakeSeconds)
  }

  /// `--log`: the request as sent (credentials redacted), one string a line.
  func request(_ lines: [String]) {
    emit("request", [("lines", .array(lines.map { .string($0) }))])
  }

  /// `--log`: the response head as received, whatever its status.
  func response(_ head: HTTPHeadParser.Head) {
    emit(
      "response",
      [
        ("status_line", .string(head.startLine)),
        ("headers", .array(head.headers.map { .array([.string($0.name), .string($0.value)]) })),
      ])
  }

  /// `--log`: one frame in or out, with the start of its payload.
  func frame(_ t: FrameTrace) {
    var fields: [(String, Value)] = [
      ("direction", .string(t.direction == .sent ? "sent" : "received")),
      ("opcode", .string(Self.opcodeName(t.header.opcode))), ("fin", .bool(t.header.fin)),
      ("compressed", .bool(t.header.rsv & FrameHeader.rsv1 != 0)),
      ("length", .int(Int(t.header.payloadLength))),
      ("preview", .base64(t.preview)),
    ]
    if t.header.opcode != .binary, let text = String(validating: t.preview, as: UTF8.self) {
      fields.append(("preview_text", .string(text)))
    }
    emit("frame", fields)
  }

  static func opcodeName(_ opcode: Opcode) -> String {
    switch opcode {
    case .continuation: return "continuation"
    case .text: return "text"
    case .binary: return "binary"
    case .close: return "close"
    case .ping: return "ping"
    case .pong: return "pong"
    }
  }

  func message(_ kind: Message.Kind, _ data: UnsafeRawBufferPointer) -> Bool {
    let value: Value =
      kind == .text ? .string(String(decoding: data, as: UTF8.self)) : .base64(data)
    return emit(
      "message",
      [("type", .string(kind == .text ? "text" : "binary")), ("data", value), ("size", .int(data.count))])
  }

  func control(_ event: String, _ data: [UInt8], rttSeconds: Double? = nil) {
    var fields: [(String, Value)] = [("data", .base64(data)), ("size", .int(data.count))]
    if let rttSeconds { fields.append(("rtt_ms", .number(rttSeconds * 1000))) }
    emit(event, fields)
  }

  /// `by`: who sent the first Close ("client": wsc; "server"; or "none": no closing handshake).
  func close(_ result: CloseResult, peer: String) {
    let by: String
    if case .protocolViolation = result.error {
      by = "wsc"  // wsc failed the connection with its Close (1002, 1007, 1009…)
    } else if result.sent == nil && result.received == nil {
      by = "none"
    } else {
      by = result.initiatedLocally || result.received == nil ? "wsc" : peer
    }
    emit(
      "close",
      [
        ("by", .string(by)), ("code", .int(Int(result.code))),
        ("reason", .string(String(decoding: result.received?.reason ?? [], as: UTF8.self))),
        ("clean", .bool(result.wasClean)),
      ])
  }

  func error(_ error: WebSocketClientError, exitCode: Int32) {
    emit(
      "error",
      [
        ("class", .string(Self.errorClass(error))), ("message", .string(Session.errorText(error))),
        ("exit_code", .int(Int(exitCode))),
      ])
  }

  /// `--reconnect`: another attempt follows after `delay_ms`; `after` says how the
  /// connection ended (as stderr would).
  func reconnect(_ retry: Link.Retry, after: String) {
    emit(
      "reconnect",
      [
        ("attempt", .int(retry.attempt)), ("max_attempts", retry.maxAttempts.map { .int($0) } ?? .null),
        ("delay_ms", .number(retry.delay * 1000)), ("after", .string(after)),
      ])
  }

  static func errorClass(_ error: WebSocketClientError) -> String {
    switch error {
    case .connectFailed: return "connect"
    case .proxy: return "proxy"
    case .tls: return "tls"
    case .handshake, .redirect: return "handshake"
    case .protocolViolation: return "protocol"
    case .connectionLost: return "connection_lost"
    case .timeout: return "timeout"
    case .local: return "local"
    }
  }
}
