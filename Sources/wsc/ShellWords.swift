/// Splits a pasted command line into words, for `wsc curl --from FILE`: the text of a
/// "Copy as cURL" exactly as the browser put it on the clipboard, in either of its forms.
///
/// - POSIX shell (Chromium's and Firefox's "Copy as cURL (bash)"): `'…'` literal,
///   `"…"` with `\` before `"`, `\`, `$`, `` ` `` and newline, `$'…'` with the ANSI-C
///   escapes Chromium writes for controls and non-ASCII (`\n`, `\t`, `\xHH`, `\uHHHH`,
///   octal), `\` outside quotes, and `\` + newline continuing the line.
/// - Windows cmd (Chromium's "Copy as cURL (cmd)"): `^` escapes the next character (and
///   continues the line before a newline), then `"…"` quoting with `\"` for a quote.
enum ShellWords {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// The words; a leading `curl` (or `curl.exe`) is kept, for the caller to check.
  static func split(_ text: String) throws(Failure) -> [String] {
    // cmd's form wraps every argument in ^"…^"; the POSIX form never writes ^".
    text.contains("^\"") ? try splitCmd(text) : try splitPOSIX(text)
  }

  static func splitPOSIX(_ text: String) throws(Failure) -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var chars = Array(text.unicodeScalars)[...]
    func take() -> Unicode.Scalar? { chars.popFirst() }
    while let c = take() {
      switch c {
      case " ", "\t", "\n", "\r":
        if inWord { words.append(word) }
        word = ""
        inWord = false
      case "\\":
        guard let next = take() else { break }
        if next == "\n" { continue }  // a continued line
        if next == "\r", chars.first == "\n" {
          _ = take()
          continue
        }
        word.unicodeScalars.append(next)
        inWord = true
      case "'":
        inWord = true
        while true {
          guard let q = take() else { throw Failure(description: "a ' quote is not closed") }
          if q == "'" { break }
          word.unicodeScalars.append(q)
        }
      case "\"":
        inWord = true
        while true {
          guard let q = take() else { throw Failure(description: "a \" quote is not closed") }
          if q == "\"" { break }
          if q == "\\", let n = chars.first, "\"\\$`\n".unicodeScalars.contains(n) {
            _ = take()
            if n != "\n" { word.unicodeScalars.append(n) }
            continue
          }
          word.unicodeScalars.append(q)
        }
      case "$" where chars.first == "'":
        _ = take()
        inWord = true
        try ansiC(&chars, into: &word)
      default:
        word.unicodeScalars.append(c)
        inWord = true
      }
    }
    if inWord { words.append(word) }
    return words
  }

  /// The body of `$'…'` after its opening quote.
  private static func ansiC(_ chars: inout ArraySlice<Unicode.Scalar>, into word: inout String)
    throws(Failure)
  {
    func hex(_ max: Int) -> UInt32? {
      var v: UInt32 = 0
      var n = 0
      while n < max, let c = chars.first, let d = UInt32(String(c), radix: 16) {
        v = v * 16 + d
        chars = chars.dropFirst()
        n += 1
      }
      return n == 0 ? nil : v
    }
    var bytes: [UInt8] = []  // \xHH and octal escapes are bytes of UTF-8
    func flush() {
      if !bytes.isEmpty {
        word += String(decoding: bytes, as: UTF8.self)
        bytes = []
      }
    }
    while true {
      guard let c = chars.popFirst() else { throw Failure(description: "a $' quote is not closed") }
      if c == "'" { break }
      guard c == "\\" else {
        flush()
        word.unicodeScalars.append(c)
        continue
      }
      guard let e = chars.popFirst() else { throw Failure(description: "a $' quote is not closed") }
      switch e {
      case "n": bytes.append(0x0A)
      case "t": bytes.append(0x09)
      case "r": bytes.append(0x0D)
      case "e", "E": bytes.append(0x1B)
      case "a": bytes.append(0x07)
      case "b": bytes.append(0x08)
      case "f": bytes.append(0x0C)
      case "v": bytes.append(0x0B)
      case "\\", "'", "\"", "?": bytes.append(UInt8(e.value))
      case "x":
        guard let v = hex(2) else { throw Failure(description: "\\x without hex digits in a $' quote") }
        bytes.append(UInt8(v))
      case "u", "U":
        guard let v = hex(e == "u" ? 4 : 8), let scalar = Unicode.Scalar(v) else {
          throw Failure(description: "a bad \\u escape in a $' quote")
        }
        flush()
        word.unicodeScalars.append(scalar)
      case "0"..."7":
        var v = e.value - 48
        var n = 1
        while n < 3, let d = chars.first, ("0"..."7").contains(d) {
          v = v * 8 + d.value - 48
          chars = chars.dropFirst()
          n += 1
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
      default:
        bytes += [UInt8(ascii: "\\")] + Array(String(e).utf8)
      }
    }
    flush()
  }

  static func splitCmd(_ text: String) throws(Failure) -> [String] {
    // First cmd's own escapes: ^X is X, ^ before a line end continues the line.
    var unescaped = ""
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
      guard c == "^" else {
        unescaped.unicodeScalars.append(c)
        continue
      }
      guard let n = chars.popFirst() else { break }
      if n == "\r" && chars.first == "\n" {
        chars = chars.dropFirst()
        continue
      }
      if n == "\n" { continue }
      unescaped.unicodeScalars.append(n)
    }
    // Then the program's own parsing (MSVCRT): "…" groups, \" is a quote.
    var words: [String] = []
    var word = ""
    var inWord = false
    var quoted = false
    var rest = Array(unescaped.unicodeScalars)[...]
    while let c = rest.popFirst() {
      switch c {
      case "\\" where rest.first == "\"":
        rest = rest.dropFirst()
        word.unicodeScalars.append("\"")
        inWord = true
      case "\"":
        quoted.toggle()
        inWord = true
      case _ where !quoted && (c == " " || c == "\t" || c == "\n" || c == "\r"):
        if inWord { words.append(word) }
        word = ""
        inWord = false
      default:
        word.unicodeScalars.append(c)
        inWord = true
      }
    }
    if quoted { throw Failure(description: "a \" quote is not closed") }
    if inWord { words.append(word) }
    return words
  }
}
