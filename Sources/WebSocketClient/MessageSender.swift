import WebSocketProtocol

/// Runs `WebSocketClient.send` for async callers on a thread of its own.
///
/// The client's `send` blocks while its queue holds more than `sendQueueLimit` bytes (a slow
/// server), which is its back-pressure. Blocking a thread of the cooperative pool for that
/// long could starve every other task (the pool has one thread per core), so the calls are
/// made here, one at a time in the order they were submitted, and each caller awaits a
/// continuation. The thread starts with the first message and exits once `stop()` was
/// called and nothing is left to hand over; a `send` blocked at that moment returns false
/// as soon as the connection stops accepting messages, so stopping never deadlocks.
///
/// `@unchecked Sendable`: every stored `var` is guarded by `lock`; `client` is Sendable.
final class MessageSender: @unchecked Sendable {
  private let client: WebSocketClient
  private let lock = ConditionLock()
  private var jobs: [(Message, CheckedContinuation<Bool, Never>)] = []
  private var head = 0
  private var running = false
  private var stopped = false

  init(client: WebSocketClient) {
    self.client = client
  }

  /// Queues `message` on the client; false if the connection no longer accepts messages.
  func send(_ message: Message) async -> Bool {
    await withCheckedContinuation { continuation in
      // nil: refused; true: the thread must be started.
      let start: Bool? = lock.withLock {
        guard !stopped else { return nil }
        jobs.append((message, continuation))
        lock.broadcast()
        let start = !running
        running = true
        return start
      }
      switch start {
      case nil: continuation.resume(returning: false)
      case true?:
        if startThread({ [self] in run() }) != nil { refuseAll() }
      case false?: break
      }
    }
  }

  /// The connection ended: refuse new messages, and let the thread finish what it holds.
  func stop() {
    lock.withLock {
      stopped = true
      lock.broadcast()
    }
  }

  /// No thread could be started: the messages waiting fail (the caller sees a refused
  /// send, as after the end), and the next `send` tries again.
  private func refuseAll() {
    let waiting: ArraySlice<(Message, CheckedContinuation<Bool, Never>)> = lock.withLock {
      defer {
        jobs.removeAll()
        head = 0
        running = false
      }
      return jobs[head...]
    }
    for (_, continuation) in waiting { continuation.resume(returning: false) }
  }

  private func run() {
    while true {
      let job: (Message, CheckedContinuation<Bool, Never>)? = lock.withLock {
        while head == jobs.count && !stopped { lock.wait() }
        guard head < jobs.count else { return nil }
        defer {
          head += 1
          if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
          }
        }
        return jobs[head]
      }
      guard let (message, continuation) = job else { return }
      continuation.resume(returning: client.send(message.kind, message.data))
    }
  }
}
