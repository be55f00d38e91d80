import WebSocketClient

/// A one-way, one-shot wake-up for a thread waiting in `poll()` on something else: once
/// `fire()` has run, `fd` stays readable for good.
///
/// The stdin reader waits on it beside fd 0, so the end of the connection ends a read
/// that would otherwise block until the user (or `tail -f`) sends another line (issue 12).
final class StopPipe: @unchecked Sendable {
  private let pipe = PipePair.make()

  /// Readable once fired; -1 when no pipe could be made (then nothing can be woken).
  var fd: Int32 { pipe?.readFD ?? -1 }

  deinit {
    pipe?.close()
  }

  /// Makes `fd` readable. Safe from any thread, any number of times: the byte is never
  /// read, and a full pipe (EAGAIN) is already readable.
  func fire() {
    pipe?.signal()
  }
}
