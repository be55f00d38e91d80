/// A violation of RFC 6455 (or of a configured limit) by the peer.
///
/// Each case maps to exactly one close code (`closeCode`), so the code sent when failing
/// the connection (§7.1.7) is chosen in one place.
public enum ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A masked frame from a server, or an unmasked frame from a client (§5.1).
  case unexpectedMask(masked: Bool)
  /// RSV1–3 set without an extension that defines them (§5.2).
  case reservedBitsSet(UInt8)
  /// Opcode 0x3–0x7 or 0xB–0xF (§5.2).
  case reservedOpcode(UInt8)
  /// A control frame with more than 125 bytes of payload (§5.5).
  case controlFrameTooLong(UInt64)
  /// A control frame with FIN clear (§5.5).
  case fragmentedControlFrame
  /// A 64-bit length with its most significant bit set (§5.2).
  case lengthOverflow
  /// A length that could have used a shorter encoding (§5.2: "the minimal number of bytes MUST be used").
  case nonMinimalLength
  /// A continuation frame outside a fragmented message (§5.4).
  case unexpectedContinuation
  /// A new text or binary frame while a fragmented message is still open (§5.4).
  case expectedContinuation
  /// A text message (or close reason) that is not valid UTF-8 (§5.6, §8.1).
  case invalidUTF8
  /// A Close frame with a 1-byte payload (§5.5.1).
  case closePayloadTooShort
  /// A Close frame with a status code that may not be sent on the wire (§7.4).
  case invalidCloseCode(UInt16)
  /// A message longer than the configured maximum (§10.4).
  case messageTooBig(limit: Int)
  /// More fragments in one message than the configured maximum (§10.4, "long stream of small frames").
  case tooManyFragments(limit: Int)
  /// An extension rejected a frame (for instance corrupt compressed data).
  case extensionError(String)

  /// The close code sent when this error fails the connection.
  public var closeCode: UInt16 {
    switch self {
    case .invalidUTF8: return CloseCode.invalidPayloadData
    case .messageTooBig, .tooManyFragments: return CloseCode.messageTooBig
    default: return CloseCode.protocolError
    }
  }

  public var description: String {
    switch self {
    case .unexpectedMask(let masked):
      return masked ? "received a masked frame from the server" : "received an unmasked frame from the client"
    case .reservedBitsSet(let bits):
      return "reserved bits set in a frame header (RSV=\(bits >> 4)) without a negotiated extension"
    case .reservedOpcode(let op): return "reserved opcode 0x\(String(op, radix: 16))"
    case .controlFrameTooLong(let n): return "control frame of \(n) bytes (limit 125)"
    case .fragmentedControlFrame: return "fragmented control frame"
    case .lengthOverflow: return "frame length with the most significant bit set"
    case .nonMinimalLength: return "frame length not in its minimal encoding"
    case .unexpectedContinuation: return "continuation frame without a message to continue"
    case .expectedContinuation: return "new data frame inside a fragmented message"
    case .invalidUTF8: return "invalid UTF-8 in a text message"
    case .closePayloadTooShort: return "close frame with a 1-byte payload"
    case .invalidCloseCode(let c): return "invalid close code \(c)"
    case .messageTooBig(let limit): return "message exceeds the limit of \(limit) bytes"
    case .tooManyFragments(let limit): return "message has more than \(limit) fragments"
    case .extensionError(let s): return s
    }
  }
}

/// A misuse of the state machine by the local application (not the peer's fault).
public enum UsageError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Sending after our Close frame, or after the connection failed or closed.
  case connectionClosing
  /// A control frame payload over 125 bytes (§5.5).
  case controlPayloadTooLong(Int)
  /// A close code that may not be sent (§7.4.1, §7.4.2).
  case invalidCloseCode(UInt16)
  /// Text that is not valid UTF-8 (§5.6).
  case invalidUTF8
  /// A continuation without a started message, or a new message while one is open.
  case fragmentationOrder
  /// The negotiated extension could not encode the message (a local failure).
  case extensionFailed(String)

  public var description: String {
    switch self {
    case .connectionClosing: return "the connection is closing"
    case .controlPayloadTooLong(let n): return "control frame payload of \(n) bytes exceeds 125"
    case .invalidCloseCode(let c): return "close code \(c) may not be sent"
    case .invalidUTF8: return "text is not valid UTF-8"
    case .fragmentationOrder: return "fragments sent out of order"
    case .extensionFailed(let s): return "could not encode the message: \(s)"
    }
  }
}
