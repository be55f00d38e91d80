#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The two ends of a non-blocking, close-on-exec pipe, used as a self-pipe: one thread
/// writes a byte to wake another from `poll()`.
///
/// A value with no owner semantics: whoever made it closes it, once (`close()`).
public struct PipePair: Sendable {
  public let readFD: Int32
  public let writeFD: Int32

  /// A new pipe, or nil with `errno` set (EMFILE, ENFILE) when none can be made.
  public static func make() -> PipePair? {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    return PipePair(readFD: fds[0], writeFD: fds[1])
  }

  /// Writes one byte; a full pipe (EAGAIN) is already readable, so that is not an error.
  public func signal() {
    var one: UInt8 = 1
    _ = write(writeFD, &one, 1)
  }

  public func close() {
    #if canImport(Glibc)
      _ = Glibc.close(readFD)
      _ = Glibc.close(writeFD)
    #else
      _ = Darwin.close(readFD)
      _ = Darwin.close(writeFD)
    #endif
  }
}
