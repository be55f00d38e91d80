import WebSocketProtocol

/// The bounded buffer between the I/O thread, which delivers received messages, and the one
/// task that consumes `WebSocket.messages`.
///
/// The I/O thread blocks in `deliver` while the buffer is full: it then stops reading the
/// socket, so TCP flow control pushes back on the server and memory stays bounded (as a slow
/// stdout does for the command line). Blocking is released when the consumer takes a message,
/// when the consumer goes away, and when the connection is closing, so a full buffer can
/// never keep the I/O thread from running the closing handshake.
///
/// `@unchecked Sendable`: every stored property is guarded by `lock`, and the continuation
/// is resumed exactly once (it is taken out of `waiter` under the lock before resuming).
final class MessageInbox: @unchecked Sendable {
  private let lock = ConditionLock()
  private let maxCount: Int
  private let maxBytes: Int

  private var buffer: [Message] = []
  private var head = 0
  private var bytes = 0
  /// The consumer waiting in `next()` for a message (the buffer is then empty).
  private var waiter: CheckedContinuation<Message?, any Error>?
  /// How `next()` ends once the buffer is drained: nil for a normal end.
  private var end: (any Error)??
  /// Closing: `deliver` no longer blocks, and drops what does not fit.
  private var closing = false
  /// The consumer was cancelled or the `WebSocket` released: nothing is kept any more.
  private var consumerGone = false
  private var largestCount = 0

  init(maxCount: Int, maxBytes: Int) {
    self.maxCount = max(1, maxCount)
    self.maxBytes = max(1, maxBytes)
  }

  /// Messages waiting for the consumer (for tests of the bound).
  var bufferedCount: Int { lock.withLock { buffer.count - head } }
  /// The most messages that ever waited at once (for tests of the bound).
  var peakBufferedCount: Int { lock.withLock { largestCount } }

  // MARK: The I/O thread

  /// Hands `message` to the consumer, blocking while the buffer is full.
  func deliver(_ message: Message) {
    let consumer: CheckedContinuation<Message?, any Error>? = lock.withLock {
      while !closing && !consumerGone && isFullLocked(adding: message) { lock.wait() }
      if consumerGone || end != nil { return nil }
      if let waiter {
        self.waiter = nil
        return waiter
      }
      if closing && isFullLocked(adding: message) { return nil }
      buffer.append(message)
      bytes += message.data.count
      largestCount = max(largestCount, buffer.count - head)
      return nil
    }
    consumer?.resume(returning: message)
  }

  /// The connection ended: the consumer gets what is buffered, then `error` (nil: the end).
  func finish(throwing error: (any Error)?) {
    let consumer: CheckedContinuation<Message?, any Error>? = lock.withLock {
      guard end == nil else { return nil }
      end = .some(error)
      lock.broadcast()
      defer { waiter = nil }
      return waiter
    }
    if let error { consumer?.resume(throwing: error) } else { consumer?.resume(returning: nil) }
  }

  // MARK: Other threads

  /// Our Close is on its way: the I/O thread must be free to send it and read the reply.
  func startClosing() {
    lock.withLock {
      closing = true
      lock.broadcast()
    }
  }

  /// The consumer will not read any more: drop the buffer and release the I/O thread.
  func consumerWentAway() {
    let consumer: CheckedContinuation<Message?, any Error>? = lock.withLock {
      consumerGone = true
      buffer.removeAll()
      head = 0
      bytes = 0
      lock.broadcast()
      defer { waiter = nil }
      return waiter
    }
    consumer?.resume(throwing: CancellationError())
  }

  /// The next message, nil at a normal end; throws how the connection failed, or
  /// `CancellationError` once the consumer went away.
  func next() async throws -> Message? {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Message?, any Error>) in
      let outcome: Result<Message?, any Error>? = lock.withLock {
        if head < buffer.count {
          let message = buffer[head]
          head += 1
          bytes -= message.data.count
          if head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
          }
          lock.broadcast()
          return .success(message)
        }
        if consumerGone { return .failure(CancellationError()) }
        if let end { return end.map { .failure($0) } ?? .success(nil) }
        precondition(waiter == nil, "two tasks iterate WebSocket.messages at once")
        waiter = continuation
        return nil
      }
      if let outcome { continuation.resume(with: outcome) }
    }
  }

  private func isFullLocked(adding message: Message) -> Bool {
    let count = buffer.count - head
    return count >= maxCount || (count > 0 && bytes + message.data.count > maxBytes)
  }
}
