/// Standard base64 (RFC 4648 §4) with padding, used for `Sec-WebSocket-Key`,
/// `Sec-WebSocket-Accept` and Basic credentials; kept here so the protocol needs no Foundation.
public enum Base64 {
  @usableFromInline static let alphabet: [UInt8] = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  /// Encodes `bytes` as padded base64 bytes.
  public static func encode<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var iterator = bytes.makeIterator()
    while let b0 = iterator.next() {
      let b1 = iterator.next()
      let b2 = iterator.next()
      out.append(alphabet[Int(b0 >> 2)])
      out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
      out.append(b1 == nil ? UInt8(ascii: "=") : alphabet[Int((b1! & 0x0F) << 2 | (b2 ?? 0) >> 6)])
      out.append(b2 == nil ? UInt8(ascii: "=") : alphabet[Int(b2! & 0x3F)])
    }
    return out
  }

  /// Encodes `bytes` as a padded base64 string.
  public static func encodeString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    String(decoding: encode(bytes), as: UTF8.self)
  }

  /// Decodes padded or unpadded base64; returns nil on any character outside the alphabet.
  public static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(text.count / 4 * 3)
    var accumulator: UInt32 = 0
    var bits = 0
    var padding = 0
    for c in text {
      let v: UInt32
      switch c {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
      case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a") + 26)
      case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0") + 52)
      case UInt8(ascii: "+"): v = 62
      case UInt8(ascii: "/"): v = 63
      case UInt8(ascii: "="):
        padding += 1
        continue
      default: return nil
      }
      if padding > 0 { return nil }
      accumulator = accumulator << 6 | v
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
      }
    }
    if padding > 2 || bits >= 6 { return nil }
    return out
  }
}
