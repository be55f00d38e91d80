/// A decoded or to-be-encoded frame header (RFC 6455 §5.2).
public struct FrameHeader: Sendable, Hashable {
  public var fin: Bool
  /// RSV1–RSV3 in their wire positions (0x40, 0x20, 0x10).
  public var rsv: UInt8
  public var opcode: Opcode
  public var maskKey: MaskKey?
  public var payloadLength: UInt64

  public init(
    fin: Bool = true, rsv: UInt8 = 0, opcode: Opcode, maskKey: MaskKey? = nil, payloadLength: UInt64
  ) {
    self.fin = fin
    self.rsv = rsv
    self.opcode = opcode
    self.maskKey = maskKey
    self.payloadLength = payloadLength
  }

  /// RSV1, which permessage-deflate uses to mark a compressed message (RFC 7692 §6).
  public static let rsv1: UInt8 = 0x40
  public static let rsv2: UInt8 = 0x20
  public static let rsv3: UInt8 = 0x10

  /// Number of bytes the header takes on the wire with the shortest length encoding.
  @inlinable public var encodedSize: Int {
    let lengthBytes = payloadLength < 126 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
    return 2 + lengthBytes + (maskKey == nil ? 0 : 4)
  }

  /// Writes the header with the minimal length encoding (§5.2) into `out`.
  @inlinable
  public func write(into out: inout [UInt8]) {
    out.append((fin ? 0x80 : 0) | rsv | opcode.rawValue)
    let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
    if payloadLength < 126 {
      out.append(maskBit | UInt8(payloadLength))
    } else if payloadLength <= 0xFFFF {
      out.append(maskBit | 126)
      out.append(UInt8(truncatingIfNeeded: payloadLength >> 8))
      out.append(UInt8(truncatingIfNeeded: payloadLength))
    } else {
      out.append(maskBit | 127)
      for shift in stride(from: 56, through: 0, by: -8) {
        out.append(UInt8(truncatingIfNeeded: payloadLength >> UInt64(shift)))
      }
    }
    if let k = maskKey {
      out.append(k.b0)
      out.append(k.b1)
      out.append(k.b2)
      out.append(k.b3)
    }
  }
}
