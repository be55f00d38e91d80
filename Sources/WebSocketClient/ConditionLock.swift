#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A mutex with one condition variable (pthreads), for the send queue and the
/// state shared between the I/O thread and the application's threads.
public final class ConditionLock: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  public init() {
    pthread_mutex_init(mutex, nil)
    var attr = pthread_condattr_t()
    pthread_condattr_init(&attr)
    #if os(Linux)
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
    #endif
    pthread_cond_init(cond, &attr)
    pthread_condattr_destroy(&attr)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    cond.deallocate()
    mutex.deallocate()
  }

  public func withLock<T>(_ body: () throws -> T) rethrows -> T {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
  }

  /// Waits for a broadcast; call with the lock held (inside `withLock`). Returns false on timeout.
  @discardableResult
  public func wait(until deadline: Double? = nil) -> Bool {
    guard let deadline else {
      pthread_cond_wait(cond, mutex)
      return true
    }
    #if os(Linux)
      var ts = timespec()
      let whole = deadline.rounded(.down)
      ts.tv_sec = Int(whole)
      ts.tv_nsec = Int((deadline - whole) * 1e9)
      return pthread_cond_timedwait(cond, mutex, &ts) == 0
    #else
      let remaining = max(0, deadline - MonotonicClock.now())
      var ts = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - remaining.rounded(.down)) * 1e9))
      return pthread_cond_timedwait_relative_np(cond, mutex, &ts) == 0
    #endif
  }

  public func broadcast() { pthread_cond_broadcast(cond) }
}

/// Seconds on the monotonic clock (never jumps with the wall clock).
public enum MonotonicClock {
  public static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// Starts a detached OS thread (not a Swift concurrency task) running `body`. Returns nil,
/// or why no thread could be started (`pthread_create` fails with EAGAIN at the system's
/// limit of threads or of memory for their stacks, which enough clients can reach).
@discardableResult
public func startThread(_ body: @escaping @Sendable () -> Void) -> String? {
  final class Box: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }
  let box = Unmanaged.passRetained(Box(body)).toOpaque()
  var thread = pthread_t()
  let rc = pthread_create(
    &thread, nil,
    { arg in
      let box = Unmanaged<AnyObject>.fromOpaque(arg!).takeRetainedValue() as! Box
      box.body()
      return nil
    }, box)
  guard rc == 0 else {
    Unmanaged<Box>.fromOpaque(box).release()
    return "cannot start a thread: \(errnoText(rc))"
  }
  pthread_detach(thread)
  return nil
}
