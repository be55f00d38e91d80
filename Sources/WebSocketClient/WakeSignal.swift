import CSystemCalls

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How another thread wakes a connection's I/O thread from `poll()` without a descriptor
/// of its own: the I/O thread keeps SIGURG blocked except while it waits (`poll`, which is
/// `ppoll` with SIGURG let through, atomically), and a waker sends it with `pthread_kill`.
/// A wake-up sent while the thread is busy stays pending and ends its next wait at once,
/// so none is lost. DESIGN.md §2 rule 1 asks for a wake-up fd (pipe or eventfd); a pipe
/// cost every connection two descriptors besides its socket, which held listen mode to a
/// third of `ulimit -n` (issue 17).
///
/// The process gets a SIGURG handler that does nothing, unless it already has one.
enum WakeSignal {
  /// Why the handler could not be installed, or nil; installed on first use.
  static let installFailure: String? = {
    let rc = wsc_wake_install()
    return rc == 0 ? nil : "cannot install the SIGURG handler: \(errnoText(rc))"
  }()

  /// Blocks the wake-up signal in the calling thread (an I/O thread, at its start).
  /// Returns whether it can now be woken.
  static func blockInThisThread() -> Bool { wsc_wake_block() == 0 }

  /// `poll()` that a wake-up interrupts with EINTR.
  static func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeout: Int32) -> Int32 {
    wsc_wake_poll(fds, nfds_t(count), timeout)
  }

  /// Wakes `thread`, an I/O thread that has blocked the signal and not yet finished.
  static func wake(_ thread: pthread_t) {
    _ = wsc_wake_thread(thread)
  }
}
