import Synchronization
import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Process-wide signal setup (DESIGN.md §2 rule 4, §4).
enum StandardStreams {
  /// Runs first: ignores SIGPIPE (a dead socket or pipe must give EPIPE, not kill us) and
  /// makes sure fds 0–2 are open, so a socket never becomes "stdout" and receives our
  /// diagnostics (curl's main_checkfds). A closed stdout is a local I/O error (exit 10).
  static func prepare() {
    signal(SIGPIPE, SIG_IGN)
    var stdoutWasClosed = false
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
      let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
      if opened != fd && opened >= 0 {
        dup2(opened, fd)
        close(opened)
      }
      if fd == 1 { stdoutWasClosed = true }
    }
    if stdoutWasClosed {
      Terminal.error("stdout is closed")
      _exit(10)
    }
  }
}

/// SIGINT, SIGTERM and SIGHUP go to one thread that waits for them with `sigwait`, so no
/// handler runs in an async-signal context. The first one closes cleanly (on a helper
/// thread, so a second one is still seen); the second exits at once.
enum Signals {
  nonisolated(unsafe) private static var installed = false

  /// The first SIGINT/SIGTERM/SIGHUP received, or 0. Once set, the process exits with
  /// 128 + it whichever thread gets to `Session.exit` first: the main thread may see the
  /// connection end (our interrupt's Close acknowledged) before the signal's own thread
  /// finishes, and must not report that as a normal close with 0 (issue 20).
  static let received = Atomic<Int32>(0)

  static func install(session: Session) {
    install(onSignal: { session.interrupted(signal: $0) }, onWindowChange: { session.windowChanged() })
  }

  /// `onSignal` runs on a fresh thread for the first SIGINT/SIGTERM/SIGHUP; a second one exits.
  static func install(
    onSignal: @escaping @Sendable (Int32) -> Void, onWindowChange: @escaping @Sendable () -> Void
  ) {
    guard !installed else { return }
    installed = true
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&set, s) }
    // Block them here, before any other thread starts, so every thread inherits the mask.
    pthread_sigmask(SIG_BLOCK, &set, nil)
    let signals = set
    let failure = startThread {
      var waitSet = signals
      var count = 0
      while true {
        var received: Int32 = 0
        guard sigwait(&waitSet, &received) == 0 else { continue }
        if received == SIGWINCH {
          onWindowChange()
          continue
        }
        count += 1
        if count == 1 { Self.received.store(received, ordering: .sequentiallyConsistent) }
        if count > 1 { Session.exit(128 + received) }
        let sig = received
        // Without a thread to spare (thousands of clients), handle it here: a second
        // signal then waits for the first to finish instead of exiting at once.
        if startThread({ onSignal(sig) }) != nil { onSignal(sig) }
      }
    }
    // The process has just started: no peer can have used up the threads yet.
    precondition(failure == nil, failure ?? "")
  }
}
