/// A frame opcode (RFC 6455 §5.2, §11.8).
public enum Opcode: UInt8, Sendable, Hashable, CustomStringConvertible {
  case continuation = 0x0
  case text = 0x1
  case binary = 0x2
  case close = 0x8
  case ping = 0x9
  case pong = 0xA

  /// Control frames have the most significant bit of the opcode set (RFC 6455 §5.5).
  @inlinable public var isControl: Bool { rawValue & 0x8 != 0 }

  public var description: String {
    switch self {
    case .continuation: return "CONT"
    case .text: return "TEXT"
    case .binary: return "BINARY"
    case .close: return "CLOSE"
    case .ping: return "PING"
    case .pong: return "PONG"
    }
  }
}

/// Which end of the connection this state machine plays (RFC 6455 §5.1 masking rules).
public enum Role: Sendable, Hashable {
  /// Masks every frame it sends and rejects masked frames it receives.
  case client
  /// Sends unmasked frames and rejects unmasked frames it receives.
  case server
}
