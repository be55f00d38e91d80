import Synchronization
import Testing

@testable import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The I/O threads' wake-up without a descriptor (issue 17): a wake-up sent while the
/// thread is busy must end its next wait at once, and one sent during the wait must end
/// it, so that no command another thread queues is left waiting for a timeout.
@Suite("WakeSignal")
struct WakeSignalTests {
  /// A socket that never becomes readable (nothing is ever written to its pair), and the
  /// result of one wait on it with no timeout, run on a thread of its own that blocks
  /// the signal first; `beforeWait` runs on that thread between the block and the wait.
  private func waitOnIdleSocket(beforeWait: @escaping @Sendable (pthread_t) -> Void) -> (Int32, Int32)? {
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { return nil }
    defer { pair.forEach { _ = close($0) } }
    #expect(WakeSignal.installFailure == nil)
    let fd = pair[0]
    let outcome = Mutex<(Int32, Int32)?>(nil)
    let done = ConditionLock()
    let failure = startThread {
      #expect(WakeSignal.blockInThisThread())
      beforeWait(pthread_self())
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let r = WakeSignal.poll(&pfd, 1, -1)
      let e = errno
      outcome.withLock { $0 = (r, e) }
      done.withLock { done.broadcast() }
    }
    #expect(failure == nil)
    return done.withLock {
      let deadline = MonotonicClock.now() + 10
      while outcome.withLock({ $0 }) == nil && MonotonicClock.now() < deadline {
        _ = done.wait(until: deadline)
      }
      return outcome.withLock { $0 }
    }
  }

  @Test("a wake-up sent before the wait is kept pending and ends the wait at once")
  func wakeBeforeTheWaitIsNotLost() {
    let result = waitOnIdleSocket { me in WakeSignal.wake(me) }
    #expect(result?.0 == -1)
    #expect(result?.1 == EINTR)
  }

  @Test("a wake-up sent during the wait ends it")
  func wakeDuringTheWaitEndsIt() {
    let waiter = Mutex<pthread_t?>(nil)
    let waker = startThread {
      // Wake it until it has been seen to start waiting; each wake-up before the wait
      // would end it too, so only the timing of the first one matters, not correctness.
      var thread: pthread_t?
      for _ in 0..<1000 where thread == nil {
        thread = waiter.withLock { $0 }
        usleep(1000)
      }
      usleep(50_000)
      if let thread { WakeSignal.wake(thread) }
    }
    #expect(waker == nil)
    let result = waitOnIdleSocket { me in waiter.withLock { $0 = me } }
    #expect(result?.0 == -1)
    #expect(result?.1 == EINTR)
  }
}
