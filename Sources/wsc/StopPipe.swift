#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A one-way, one-shot wake-up for a thread waiting in `poll()` on something else: once
/// `fire()` has run, `fd` stays readable for good.
///
/// The stdin reader waits on it beside fd 0, so the end of the connection ends a read
/// that would otherwise block until the user (or `tail -f`) sends another line (issue 12).
final class StopPipe: @unchecked Sendable {
  /// Readable once fired; -1 when no pipe could be made (then nothing can be woken).
  let fd: Int32
  private let writeFD: Int32

  init() {
    var fds: [Int32] = [-1, -1]
    if pipe(&fds) != 0 { fds = [-1, -1] }
    for fd in fds where fd >= 0 {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    fd = fds[0]
    writeFD = fds[1]
  }

  deinit {
    if fd >= 0 { _ = close(fd) }
    if writeFD >= 0 { _ = close(writeFD) }
  }

  /// Makes `fd` readable. Safe from any thread, any number of times: the byte is never
  /// read, and a full pipe (EAGAIN) is already readable.
  func fire() {
    guard writeFD >= 0 else { return }
    var one: UInt8 = 1
    _ = write(writeFD, &one, 1)
  }
}
