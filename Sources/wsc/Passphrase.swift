#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Asks for a passphrase on the controlling terminal with echo off (`--passphrase` alone).
enum Passphrase {
  /// Returns nil when there is no terminal to ask on.
  static func read(prompt: String) -> String? {
    let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var saved = termios()
    guard tcgetattr(fd, &saved) == 0 else { return nil }
    var quiet = saved
    quiet.c_lflag &= ~tcflag_t(ECHO)
    quiet.c_lflag |= tcflag_t(ECHONL)
    _ = prompt.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    tcsetattr(fd, TCSAFLUSH, &quiet)
    defer { tcsetattr(fd, TCSAFLUSH, &saved) }
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while line.count < 4096 {
      let n = Glibc.read(fd, &byte, 1)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 || byte == UInt8(ascii: "\n") { break }
      line.append(byte)
    }
    if line.last == UInt8(ascii: "\r") { line.removeLast() }
    return String(decoding: line, as: UTF8.self)
  }
}
