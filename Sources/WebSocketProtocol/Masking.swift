/// A 32-bit masking key (RFC 6455 §5.3), stored as the four bytes in wire order.
public struct MaskKey: Sendable, Hashable {
  public var b0: UInt8
  public var b1: UInt8
  public var b2: UInt8
  public var b3: UInt8

  public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
    (self.b0, self.b1, self.b2, self.b3) = (b0, b1, b2, b3)
  }

  /// Takes the key from a random 32-bit value (its four bytes, low byte first).
  public init(random value: UInt32) {
    self.init(
      UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
      UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24))
  }

  @inlinable subscript(i: Int) -> UInt8 {
    switch i & 3 {
    case 0: return b0
    case 1: return b1
    case 2: return b2
    default: return b3
    }
  }

  /// The key repeated over 8 bytes in memory order, starting at key byte `phase`,
  /// so a word-sized XOR masks 8 payload bytes at once whatever the host's endianness.
  @inlinable func word(phase: Int) -> UInt64 {
    // The value whose little-endian bytes are b0 b1 b2 b3, rotated to start at `phase`.
    let k = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
    let shift = UInt32(8 * (phase & 3))
    let r = shift == 0 ? k : (k >> shift | k << (32 - shift))
    return (UInt64(r) | UInt64(r) << 32).littleEndian
  }
}

/// Masking and unmasking (RFC 6455 §5.3: octet i of the payload is XORed with octet
/// i MOD 4 of the key). The same operation both ways.
public enum Masking {
  /// XORs `buffer` in place with `key`, treating the first byte as payload octet `phase`.
  /// Works 8 bytes at a time; returns the phase for the byte after the buffer.
  @inlinable @discardableResult
  public static func apply(_ key: MaskKey, to buffer: UnsafeMutableRawBufferPointer, phase: Int = 0) -> Int {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return phase & 3 }
    let count = buffer.count
    var i = 0
    let word = key.word(phase: phase & 3)
    // Wide loop: four words per iteration keeps the CPU's load/store ports busy.
    while i + 32 <= count {
      let p = base + i
      p.storeBytes(of: p.loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (p + 8).storeBytes(of: (p + 8).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (p + 16).storeBytes(of: (p + 16).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (p + 24).storeBytes(of: (p + 24).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      i += 32
    }
    while i + 8 <= count {
      let p = base + i
      p.storeBytes(of: p.loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      i += 8
    }
    if i + 4 <= count {
      // `i` is a multiple of 8, so the key starts at `phase` here too; the pattern repeats
      // every 4 bytes, so either half of `word` is the 4-byte mask whatever the endianness.
      let p = base + i
      p.storeBytes(of: p.loadUnaligned(as: UInt32.self) ^ UInt32(truncatingIfNeeded: word), as: UInt32.self)
      i += 4
    }
    while i < count {
      let b = base.load(fromByteOffset: i, as: UInt8.self) ^ key[phase + i]
      base.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
      i += 1
    }
    return (phase + count) & 3
  }

  /// Copies `source` into `destination` (same length) while masking it.
  @inlinable @discardableResult
  public static func copy(
    _ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer, key: MaskKey,
    phase: Int = 0
  ) -> Int {
    precondition(destination.count >= source.count)
    guard source.count > 0, let s = source.baseAddress, let d = destination.baseAddress else {
      return phase & 3
    }
    let count = source.count
    var i = 0
    let word = key.word(phase: phase & 3)
    while i + 32 <= count {
      (d + i).storeBytes(of: (s + i).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (d + i + 8).storeBytes(of: (s + i + 8).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (d + i + 16).storeBytes(of: (s + i + 16).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      (d + i + 24).storeBytes(of: (s + i + 24).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      i += 32
    }
    while i + 8 <= count {
      (d + i).storeBytes(of: (s + i).loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
      i += 8
    }
    if i + 4 <= count {
      // As in `apply`: either half of `word` is the 4-byte mask at this (8-aligned) offset.
      (d + i).storeBytes(
        of: (s + i).loadUnaligned(as: UInt32.self) ^ UInt32(truncatingIfNeeded: word), as: UInt32.self)
      i += 4
    }
    while i < count {
      d.storeBytes(
        of: s.load(fromByteOffset: i, as: UInt8.self) ^ key[phase + i], toByteOffset: i, as: UInt8.self)
      i += 1
    }
    return (phase + count) & 3
  }
}
