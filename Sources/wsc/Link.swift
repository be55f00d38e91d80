import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The session's connection to the server, across reconnects (`--reconnect`): one
/// `WebSocketClient` at a time, replaced when its connection ends in a way the policy
/// retries.
///
/// Sending goes through the link, so a message read while the connection is down waits
/// on the next client's queue (bounded by its send-queue limit: `send` blocks, which
/// stops the reading of stdin) and goes out in order after the `-x` preamble once that
/// client is open. What the old client held but never sent moves over too. Without a
/// policy the link is one client, as before.
final class Link: @unchecked Sendable {
  /// One more attempt: its number (1, 2, …), the limit, and the wait before it.
  struct Retry {
    let attempt: Int
    let maxAttempts: Int?
    let delay: Double

    /// "in 0.372 s (attempt 2 of 5)", as stderr and the prompt say it.
    var waitText: String {
      let ms = Int((delay * 1000).rounded())
      let of = maxAttempts.map { " of \($0)" } ?? ""
      return "in \(ms / 1000).\(zeroPadded(ms % 1000, 3)) s (attempt \(attempt)\(of))"
    }
  }

  /// "giving up after 5 reconnect attempts (--reconnect=5)".
  static func gaveUpText(_ attempts: Int) -> String {
    "giving up after \(attempts) reconnect attempt\(attempts == 1 ? "" : "s") (--reconnect=\(attempts))"
  }

  /// What follows the end of a connection.
  enum Next {
    case retry(Retry)
    /// The session is over.
    case end
    /// The policy would retry, but this many attempts in a row have failed.
    case gaveUp(attempts: Int)
    /// The session ended during the wait before an attempt (`result` was reported with
    /// `.retry` before): nothing new to say about the connection, only that it is over.
    case stopped
  }

  private let lock = ConditionLock()
  private var client: WebSocketClient
  /// `connect()` was called on `client` (false during a backoff wait).
  private var started = false
  /// The session is ending on our side: no more attempts.
  private var stopping = false
  private var final: CloseResult?
  private var failures = 0
  private var openedAt: Double?
  /// Messages `send` refused and nothing retried (the session was ending).
  private var refused = 0
  /// The current client's connection opened (so its preamble went out).
  private var opened = false
  private let configuration: WebSocketClient.Configuration
  private let policy: ReconnectPolicy?
  private let preamble: [(Message.Kind, [UInt8])]
  /// Sets a new client's hooks (all but `onClose`, which the link owns).
  private let prepare: (WebSocketClient) -> Void
  /// A connection ended; `retry` says whether another attempt follows. On the I/O thread.
  private let ended: (CloseResult, Next) -> Void

  init(
    client: WebSocketClient, policy: ReconnectPolicy?, preamble: [(Message.Kind, [UInt8])],
    prepare: @escaping (WebSocketClient) -> Void, ended: @escaping (CloseResult, Next) -> Void
  ) {
    self.client = client
    self.configuration = client.configuration
    self.policy = policy
    self.preamble = preamble
    self.prepare = prepare
    self.ended = ended
  }

  /// The client of the current attempt.
  var current: WebSocketClient { lock.withLock { client } }

  /// How the session ended, once no attempt follows.
  var result: CloseResult? { lock.withLock { final } }

  /// Connects the first client and queues the preamble.
  func start() {
    let first = lock.withLock {
      started = true
      return client
    }
    install(first)
    first.connect()
    for (kind, data) in preamble { first.send(kind, data) }
  }

  // MARK: Sending

  @discardableResult
  func send(_ kind: Message.Kind, _ data: [UInt8]) -> Bool { deliver(1) { $0.send(kind, data) } }

  @discardableResult
  func send(_ kind: Message.Kind, batch: MessageBatch) -> Bool {
    deliver(batch.ends.count) { $0.send(kind, batch: batch) }
  }

  @discardableResult
  func ping(_ data: [UInt8]) -> Bool { deliver(0) { $0.ping(data) } }

  @discardableResult
  func pong(_ data: [UInt8]) -> Bool { deliver(0) { $0.pong(data) } }

  /// Tries each client in turn until one takes the command or the session ends.
  private func deliver(_ messages: Int, _ body: (WebSocketClient) -> Bool) -> Bool {
    var c = current
    while true {
      if body(c) { return true }
      let next: WebSocketClient? = lock.withLock {
        while client === c && final == nil && !stopping && policy != nil { lock.wait() }
        if final != nil || stopping || client === c {
          refused += messages
          return nil
        }
        return client
      }
      guard let next else { return false }
      c = next
    }
  }

  /// Every command queued so far has been handed to an open connection's protocol, or the
  /// session ended.
  func waitUntilQueueDrained() {
    while true {
      let c = current
      c.waitUntilQueueDrained()
      let again = lock.withLock {
        while client === c && c.result != nil && final == nil { lock.wait() }
        return final == nil && client !== c
      }
      if !again { return }
    }
  }

  // MARK: Ending

  /// Ends the session from our side: no more attempts, and the current connection closes
  /// (or, in a backoff wait, is never made).
  func close(code: UInt16? = CloseCode.normalClosure, reason: String = "", discardQueued: Bool = false) {
    let (c, live) = lock.withLock {
      stopping = true
      lock.broadcast()
      return (client, started)
    }
    if live { c.close(code: code, reason: reason, discardQueued: discardQueued) }
  }

  /// Blocks until no attempt follows, and returns how the last connection ended.
  func waitForEnd() -> CloseResult {
    lock.withLock {
      while final == nil { lock.wait() }
      return final!
    }
  }

  /// Blocks until the session ended or `timeout` seconds pass.
  func wait(timeout: Double) -> CloseResult? {
    let deadline = MonotonicClock.now() + timeout
    return lock.withLock {
      while final == nil && MonotonicClock.now() < deadline { lock.wait(until: deadline) }
      return final
    }
  }

  /// Data messages that were queued or refused and never sent, once the session ended.
  var unsentMessages: Int {
    // A connection that never opened still holds the preamble: that is not stdin's.
    let (c, extra) = lock.withLock { (client, refused - (opened ? 0 : preamble.count)) }
    return max(0, c.unsentMessageCount + extra)
  }

  // MARK: Attempts

  private func install(_ c: WebSocketClient) {
    prepare(c)
    let open = c.onOpen
    c.onOpen = { [self] response in
      lock.withLock {
        openedAt = MonotonicClock.now()
        opened = true
      }
      open?(response)
    }
    c.onClose = { [self] result in connectionEnded(c, result) }
  }

  /// On the ended connection's I/O thread: report, then wait and try again, or end.
  private func connectionEnded(_ c: WebSocketClient, _ result: CloseResult) {
    let then: Next = lock.withLock {
      guard !stopping, let policy, policy.shouldRetry(result) else { return .end }
      if let openedAt, MonotonicClock.now() - openedAt >= policy.stableAfter { failures = 0 }
      openedAt = nil
      if let limit = policy.maxAttempts, failures >= limit { return .gaveUp(attempts: failures) }
      failures += 1
      let delay = policy.delay(attempt: failures, unit: Double.random(in: 0..<1))
      return .retry(Retry(attempt: failures, maxAttempts: policy.maxAttempts, delay: delay))
    }
    // The same configuration built a client before, so this cannot fail; if it did, the
    // session ends as the connection did.
    guard case .retry(let retry) = then, let next = try? WebSocketClient(configuration: configuration) else {
      ended(result, then)
      return finish(result)
    }
    ended(result, then)
    for (kind, data) in preamble { next.send(kind, data) }
    // The preamble of a connection that never opened is still queued: next sends its own.
    c.handOverUnsent(to: next, dropFirst: result.wasOpen ? 0 : preamble.count)
    lock.withLock {
      client = next
      started = false
      opened = false
      lock.broadcast()
    }
    let deadline = MonotonicClock.now() + retry.delay
    let go = lock.withLock {
      while !stopping && MonotonicClock.now() < deadline { lock.wait(until: deadline) }
      if stopping { return false }
      started = true
      return true
    }
    if go {
      install(next)
      next.connect()
    } else {
      next.cancelUnstarted(result)
      ended(result, .stopped)
      finish(result)
    }
  }

  private func finish(_ result: CloseResult) {
    lock.withLock {
      final = result
      lock.broadcast()
    }
  }
}
