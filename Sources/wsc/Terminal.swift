#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Making text from the network safe to show, and writing diagnostics.
enum Terminal {
  /// Escapes C0 controls (except tab), DEL and C1 controls (U+0080–U+009F) so nothing the
  /// server sends can drive the terminal: no title changes, no answer-back queries, no
  /// cursor tricks (CHECKLIST P1, P2; websockets CLI `TERMINAL_ESCAPES`). Newline and
  /// carriage return become `\n` and `\r`; invalid UTF-8 bytes become `\xNN`.
  static func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out = ""
    out.reserveCapacity(bytes.count)
    var pending = Array(bytes)[...]
    while !pending.isEmpty {
      // A fresh decoder per scalar: UTF8() buffers bytes it read ahead from the iterator.
      var decoder = UTF8()
      var it = pending.makeIterator()
      switch decoder.decode(&it) {
      case .scalarValue(let s):
        pending = pending.dropFirst(s.utf8.count)
        switch s.value {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out.unicodeScalars.append(s)
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: out += hex(s.value)
        default: out.unicodeScalars.append(s)
        }
      case .error:
        // Show the first byte of the bad sequence raw and resynchronise after it.
        out += hex(UInt32(pending.first!))
        pending = pending.dropFirst()
      case .emptyInput:
        pending = []
      }
    }
    return out
  }

  private static func hex(_ v: UInt32) -> String {
    let digits = Array("0123456789abcdef")
    if v > 0xFF { return "\\u{\(String(v, radix: 16))}" }
    return "\\x" + String(digits[Int(v >> 4)]) + String(digits[Int(v & 0xF)])
  }

  static func escape(_ s: String) -> String { escape(Array(s.utf8)) }

  /// Writes "wsc: message" to stderr, unbuffered.
  static func error(_ message: String) {
    writeStderr("wsc: \(message)\n")
  }

  static func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      offset += n
    }
    bytes.removeAll()
  }

  static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

  /// Hex preview of binary data, as `00 01 ff …` capped at `limit` bytes.
  static func hexPreview<C: Collection>(_ data: C, limit: Int = 32) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var parts: [String] = []
    for b in data.prefix(limit) { parts.append(String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])) }
    if data.count > limit { parts.append("…") }
    return parts.joined(separator: " ")
  }
}
