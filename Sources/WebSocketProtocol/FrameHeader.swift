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

  /// The longest header on the wire: 2 bytes, a 64-bit length and a masking key (§5.2).
  public static let maxSize = 14

  /// Number of bytes the header takes on the wire with the shortest length encoding.
  @inlinable public var encodedSize: Int {
    let lengthBytes = payloadLength < 126 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
    return 2 + lengthBytes + (maskKey == nil ? 0 : 4)
  }

  /// Writes the header with the minimal length encoding (§5.2) into `out`.
  @inlinable
  public func write(into out: inout [UInt8]) {
    var bytes: (UInt64, UInt64) = (0, 0)
    withUnsafeMutableBytes(of: &bytes) { raw in
      let n = write(to: raw.baseAddress!)
      out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<n]))
    }
  }

  /// Writes the header with the minimal length encoding (§5.2) at `p`, which has room for
  /// 14 bytes; returns the number of bytes written (`encodedSize`).
  @inlinable
  public func write(to p: UnsafeMutableRawPointer) -> Int {
    p.storeBytes(of: (fin ? 0x80 : 0) | rsv | opcode.rawValue, as: UInt8.self)
    let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
    var n = 2
    if payloadLength < 126 {
      p.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
    } else if payloadLength <= 0xFFFF {
      p.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
      p.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
      n = 4
    } else {
      p.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
      p.storeBytes(of: payloadLength.bigEndian, toByteOffset: 2, as: UInt64.self)
      n = 10
    }
    if let k = maskKey {
      p.storeBytes(of: k.b0, toByteOffset: n, as: UInt8.self)
      p.storeBytes(of: k.b1, toByteOffset: n + 1, as: UInt8.self)
      p.storeBytes(of: k.b2, toByteOffset: n + 2, as: UInt8.self)
      p.storeBytes(of: k.b3, toByteOffset: n + 3, as: UInt8.self)
      n += 4
    }
    return n
  }
}
