/// A complete data message (RFC 6455 §5.6).
public struct Message: Sendable, Hashable {
  /// The kind of data message.
  public enum Kind: Sendable, Hashable {
    /// UTF-8 text, already validated.
    case text
    case binary
  }

  public var kind: Kind
  /// The payload: valid UTF-8 for `.text`.
  public var data: [UInt8]

  public init(kind: Kind, data: [UInt8]) {
    self.kind = kind
    self.data = data
  }

  /// The payload as a string (for text messages the conversion is lossless).
  public var text: String { String(decoding: data, as: UTF8.self) }
}

/// The payload of a Close frame (RFC 6455 §5.5.1).
public struct CloseFrame: Sendable, Hashable, CustomStringConvertible {
  /// nil when the frame carried no status code (reported as 1005, §7.4.1).
  public var code: UInt16?
  /// The reason, valid UTF-8 (checked on receipt), at most 123 bytes.
  public var reason: [UInt8]

  public init(code: UInt16?, reason: [UInt8] = []) {
    self.code = code
    self.reason = reason
  }

  /// The reason as a string.
  public var reasonText: String { String(decoding: reason, as: UTF8.self) }

  public var description: String {
    "code: \(code ?? CloseCode.noStatusReceived), reason: \"\(reasonText)\""
  }
}

/// Direction of a traced frame.
public enum FrameDirection: Sendable, Hashable {
  case received
  case sent
}

/// One frame as `-v` shows it: direction, opcode, flags, length and the first bytes.
public struct FrameTrace: Sendable, Hashable {
  public var direction: FrameDirection
  public var header: FrameHeader
  /// Up to `FrameTrace.previewLength` bytes of the unmasked payload.
  public var preview: [UInt8]

  public static let previewLength = 32

  public init(direction: FrameDirection, header: FrameHeader, preview: [UInt8]) {
    self.direction = direction
    self.header = header
    self.preview = preview
  }
}

/// What the state machine reports to the application, in order.
public enum WebSocketEvent: Sendable, Hashable {
  /// A complete text or binary message.
  case message(Message)
  /// A Ping arrived; a Pong with the same payload is already queued unless we are closing.
  case ping([UInt8])
  /// A Pong arrived (solicited or not, §5.5.3).
  case pong([UInt8])
  /// The peer's Close frame. If we had not sent one, our reply is already queued (§5.5.1).
  case close(CloseFrame)
  /// We failed the connection (§7.1.7) and queued a Close with `error.closeCode`.
  case failed(ProtocolError)
  /// A frame went in or out (only with `Configuration.traceFrames`).
  case frame(FrameTrace)
}
