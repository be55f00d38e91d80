#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Small files named on the command line (`--cookie FILE`, `--header-file`, `-H @FILE`),
/// read whole before any I/O so a bad one is a usage error that sends nothing.
enum TextFile {
  /// More than this is not a header or cookie file: refuse it rather than read a
  /// device or a huge file by mistake.
  static let maxSize = 1 << 20

  /// The file's contents (`-` is stdin), or a message naming `flag` and the path.
  static func read(_ path: String, for flag: String) -> Result<String, TextFileError> {
    let fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      return .failure(
        TextFileError("\(flag) \(Terminal.escape(path)): cannot open: \(String(cString: strerror(errno)))"))
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else {
        return .failure(
          TextFileError("\(flag) \(Terminal.escape(path)): cannot read: \(String(cString: strerror(errno)))"))
      }
      if n == 0 { break }
      bytes += chunk[..<n]
      if bytes.count > maxSize {
        return .failure(
          TextFileError("\(flag) \(Terminal.escape(path)): larger than 1 MiB; not a header or cookie file"))
      }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      return .failure(TextFileError("\(flag) \(Terminal.escape(path)): not UTF-8 text"))
    }
    return .success(text)
  }

  /// Header lines as curl reads `-H @FILE`: one `Name: value` a line, CR LF or LF,
  /// blank lines and lines starting with `#` skipped.
  static func headerLines(_ text: String) -> [String] {
    // "\r\n" is one Character in Swift, so split on newlines, not on "\n".
    text.split(whereSeparator: \.isNewline).compactMap { line in
      if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { return nil }
      return String(line)
    }
  }
}

struct TextFileError: Error {
  let message: String
  init(_ message: String) { self.message = message }
}
