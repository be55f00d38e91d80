import WebSocketProtocol

/// The two moments of a connection async callers wait for: the end of the opening
/// handshake (`WebSocket.connect`) and the end of the connection (`WebSocket.close`).
/// The I/O thread reports them from the client's hooks; awaiting tasks get them through
/// continuations, so no thread waits on their behalf.
///
/// `@unchecked Sendable`: every stored property is guarded by `lock`, and each continuation
/// is taken out of the state under the lock before it is resumed, so it is resumed once.
final class ConnectionLifecycle: @unchecked Sendable {
  private let lock = ConditionLock()
  private var opening: CheckedContinuation<ClientHandshake.Response, any Error>?
  private var opened = false
  private var openCancelled = false
  private var closeWaiters: [CheckedContinuation<CloseResult, Never>] = []
  private var ended: CloseResult?
  /// We started the closing handshake (or aborted): the end is ours, not the server's.
  private var closedLocally = false

  /// How the connection ended, once it has.
  var result: CloseResult? { lock.withLock { ended } }

  /// Marks the end as ours; returns false if it had already been marked.
  func markClosedLocally() -> Bool {
    lock.withLock {
      defer { closedLocally = true }
      return !closedLocally
    }
  }

  var wasClosedLocally: Bool { lock.withLock { closedLocally } }

  // MARK: Opening

  /// Waits for `opened` or `ended`; `start` begins the connection once the continuation is
  /// in place (it is not called if the task was cancelled first).
  func waitForOpen(start: () -> Void) async throws -> ClientHandshake.Response {
    try await withCheckedThrowingContinuation { continuation in
      let cancelled = lock.withLock {
        if openCancelled { return true }
        opening = continuation
        return false
      }
      if cancelled { continuation.resume(throwing: CancellationError()) } else { start() }
    }
  }

  /// The task awaiting `waitForOpen` was cancelled: returns true if the handshake had not
  /// finished yet, so the caller must abort the connection.
  func cancelOpening() -> Bool {
    let (pending, continuation) = lock.withLock {
      () -> (Bool, CheckedContinuation<ClientHandshake.Response, any Error>?) in
      guard !opened, ended == nil else { return (false, nil) }
      openCancelled = true
      defer { opening = nil }
      return (true, opening)
    }
    continuation?.resume(throwing: CancellationError())
    return pending
  }

  /// The I/O thread: the handshake succeeded.
  func opened(_ response: ClientHandshake.Response) {
    let continuation = lock.withLock {
      opened = true
      defer { opening = nil }
      return opening
    }
    continuation?.resume(returning: response)
  }

  // MARK: Ending

  /// The I/O thread, last: the connection ended (before opening too).
  func ended(_ result: CloseResult) {
    let (opening, waiters) = lock.withLock {
      ended = result
      defer {
        self.opening = nil
        closeWaiters = []
      }
      return (self.opening, closeWaiters)
    }
    // A connection that never opened always has an error; `local` covers the impossible rest.
    opening?.resume(
      throwing: result.error ?? WebSocketClientError.local("the connection ended before opening"))
    for waiter in waiters { waiter.resume(returning: result) }
  }

  /// How the connection ended, once it has.
  func waitForEnd() async -> CloseResult {
    await withCheckedContinuation { continuation in
      let result: CloseResult? = lock.withLock {
        if let ended { return ended }
        closeWaiters.append(continuation)
        return nil
      }
      if let result { continuation.resume(returning: result) }
    }
  }
}
