import WebSocketProtocol

extension WebSocket {
  /// The messages the server sends, in order, as one task consumes them.
  ///
  /// Iteration ends normally when the server closed with 1000 (normal closure) or 1001
  /// (going away), or when we closed the connection (RFC 6455 §7.4.1); it throws
  /// `WebSocketClientError` when the connection failed (lost without a closing handshake,
  /// a protocol violation, a close timeout) and `WebSocketError.closedByServer` for any
  /// other close code, so a silent end always means the conversation finished as agreed.
  ///
  /// At most `Options.maxBufferedMessages` (and `maxBufferedBytes`) wait for the consumer;
  /// beyond that the connection stops reading the socket, so a slow consumer slows the server
  /// down through TCP instead of growing memory. Cancelling the iterating task closes the
  /// connection with 1001, going away (§7.4.1), and `next()` throws `CancellationError`.
  ///
  /// One task at a time may iterate; iterating again later continues where the last one left.
  public struct Messages: AsyncSequence, Sendable {
    public typealias Element = Message
    let socket: WebSocket

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket) }

    /// Takes the messages out of the connection's buffer, releasing the I/O thread if it
    /// was waiting for room.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let socket: WebSocket

      public mutating func next() async throws -> Message? {
        let socket = socket
        return try await withTaskCancellationHandler {
          try await socket.inbox.next()
        } onCancel: {
          socket.goAway()
        }
      }
    }
  }
}
