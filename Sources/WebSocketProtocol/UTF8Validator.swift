/// Incremental UTF-8 validation (RFC 3629 as required by RFC 6455 §5.6 and §8.1).
///
/// Feeding a message in any number of pieces gives the same verdict as feeding it whole,
/// and an invalid sequence is reported at the first byte that cannot start or continue a
/// valid one ("fail fast", which Autobahn 6.x scores as strict). A value type: copy it to
/// checkpoint.
public struct UTF8Validator: Sendable, Hashable {
  /// Bytes still expected in the current sequence.
  @usableFromInline var remaining: UInt8 = 0
  /// Allowed range for the next continuation byte (narrowed after E0, ED, F0, F4).
  @usableFromInline var lower: UInt8 = 0x80
  @usableFromInline var upper: UInt8 = 0xBF

  public init() {}

  /// True when the input so far ends on a character boundary.
  @inlinable public var isComplete: Bool { remaining == 0 }

  /// Validates the next piece; returns false at the first invalid byte.
  @inlinable
  public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let count = bytes.count
    var i = 0
    while i < count {
      if remaining == 0 {
        // ASCII fast path: 32 bytes per step (four words ORed, one test) while no high
        // bit is set, then 8 at a time to find the block that has one.
        while i + 32 <= count {
          let p = base + i
          let any =
            p.loadUnaligned(as: UInt64.self) | (p + 8).loadUnaligned(as: UInt64.self)
            | (p + 16).loadUnaligned(as: UInt64.self) | (p + 24).loadUnaligned(as: UInt64.self)
          if any & 0x8080_8080_8080_8080 != 0 { break }
          i += 32
        }
        while i + 8 <= count {
          if (base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
          i += 8
        }
        guard i < count else { return true }
        // The last 1–7 bytes of a piece of at least 8 (a typical line): one word that ends
        // at the end, overlapping bytes already found to be ASCII, instead of a byte at a
        // time (B4's 63-byte lines spent 60 % of the validation there).
        if count - i < 8 && count >= 8
          && (base + count - 8).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
          return true
        }
        let b = base.load(fromByteOffset: i, as: UInt8.self)
        i += 1
        switch b {
        case 0x00...0x7F: continue
        case 0xC2...0xDF: remaining = 1; lower = 0x80; upper = 0xBF
        case 0xE0: remaining = 2; lower = 0xA0; upper = 0xBF
        case 0xE1...0xEC, 0xEE...0xEF: remaining = 2; lower = 0x80; upper = 0xBF
        case 0xED: remaining = 2; lower = 0x80; upper = 0x9F
        case 0xF0: remaining = 3; lower = 0x90; upper = 0xBF
        case 0xF1...0xF3: remaining = 3; lower = 0x80; upper = 0xBF
        case 0xF4: remaining = 3; lower = 0x80; upper = 0x8F
        default: return false
        }
      } else {
        let b = base.load(fromByteOffset: i, as: UInt8.self)
        i += 1
        guard b >= lower && b <= upper else { return false }
        remaining -= 1
        lower = 0x80
        upper = 0xBF
      }
    }
    return true
  }

  /// Validates an array piece.
  @inlinable
  public mutating func feed(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { feed($0) }
  }

  /// Whether `bytes` is, on its own, complete valid UTF-8.
  @inlinable
  public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var v = UTF8Validator()
    return v.feed(bytes) && v.isComplete
  }

  /// Whether `bytes` is, on its own, complete valid UTF-8.
  @inlinable
  public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
    if let r = bytes.withContiguousStorageIfAvailable({ isValid(UnsafeRawBufferPointer($0)) }) { return r }
    return isValid(Array(bytes))
  }
}
