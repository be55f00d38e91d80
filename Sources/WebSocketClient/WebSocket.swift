import WebSocketProtocol

/// A WebSocket connection for Swift concurrency: `connect`, iterate `messages`, `send`,
/// `close`, each awaited.
///
/// It is a thin layer over `WebSocketClient` and keeps its model: one I/O thread per
/// connection owns the socket. Received messages wait in a small bounded buffer until the
/// consumer of `messages` takes them; while it is full the I/O thread stops reading, so
/// memory stays bounded and TCP pushes back on the server. Sends go through a thread of
/// their own, because the client's `send` blocks while its queue is full and a blocked
/// thread of the cooperative pool could stall unrelated tasks.
///
/// ```swift
/// let socket = try await WebSocket.connect("ws://127.0.0.1:8080/")
/// try await socket.send(text: "hello")
/// for try await message in socket.messages {
///   print(message.text)
///   break
/// }
/// await socket.close()
/// ```
///
/// Releasing the last reference to an open `WebSocket` closes it with 1001, going away
/// (RFC 6455 §7.4.1).
public final class WebSocket: Sendable {
  let client: WebSocketClient
  let inbox: MessageInbox
  let lifecycle: ConnectionLifecycle
  let sender: MessageSender

  /// The server's answer to the opening handshake (RFC 6455 §4.2.2): its header fields and
  /// the extensions it accepted.
  public let response: ClientHandshake.Response

  /// The subprotocol the server chose from `Options.subprotocols`, if any (§4.2.2 step 5.4).
  public var subprotocol: String? { response.subprotocol }

  /// How the connection ended, once it has.
  public var closeResult: CloseResult? { lifecycle.result }

  /// The received messages; see `Messages` for how iteration ends and is bounded.
  public var messages: Messages { Messages(socket: self) }

  /// Messages waiting for the consumer of `messages` (tests check the bound).
  var bufferedCount: Int { inbox.bufferedCount }
  /// The most messages that ever waited at once.
  var peakBufferedCount: Int { inbox.peakBufferedCount }

  private init(
    client: WebSocketClient, inbox: MessageInbox, lifecycle: ConnectionLifecycle, sender: MessageSender,
    response: ClientHandshake.Response
  ) {
    self.client = client
    self.inbox = inbox
    self.lifecycle = lifecycle
    self.sender = sender
    self.response = response
  }

  deinit {
    // Nobody can read or send any more: release a blocked I/O thread and say goodbye.
    goAway()
  }

  // MARK: Connecting

  /// Connects to `url` (`ws://`, `wss://`, `ws+unix:`) and returns once the opening handshake
  /// succeeded (RFC 6455 §4.1).
  ///
  /// Throws `WebSocketURI.ParseError` for a malformed URL and
  /// `ClientHandshake.RequestError` for an invalid header before anything is sent, and
  /// `WebSocketClientError` when the connection fails: DNS or TCP, TLS, a rejected
  /// handshake, the connect timeout. Cancelling the task aborts the attempt (nothing of a
  /// WebSocket is open yet to close politely) and throws `CancellationError`.
  public static func connect(_ url: String, options: Options = Options()) async throws -> WebSocket {
    try await connect(WebSocketURI(parsing: url), options: options)
  }

  /// Connects to `uri`; see `connect(_:options:)` taking a string.
  public static func connect(_ uri: WebSocketURI, options: Options = Options()) async throws -> WebSocket {
    let client = try WebSocketClient(configuration: options.configuration(for: uri))
    let inbox = MessageInbox(maxCount: options.maxBufferedMessages, maxBytes: options.maxBufferedBytes)
    let lifecycle = ConnectionLifecycle()
    let sender = MessageSender(client: client)
    // The hooks run on the I/O thread. None holds the client (the sender does, hence weak),
    // so a client that never started is simply freed.
    client.onOpen = { response in lifecycle.opened(response) }
    client.onMessage = { message in inbox.deliver(message) }
    client.onClose = { [weak sender] result in
      sender?.stop()
      // The result first: a consumer woken by the end of `messages` may read `closeResult`.
      lifecycle.ended(result)
      inbox.finish(throwing: failure(of: result, closedLocally: lifecycle.wasClosedLocally))
    }
    let response = try await withTaskCancellationHandler {
      try await lifecycle.waitForOpen { client.connect() }
    } onCancel: {
      if lifecycle.cancelOpening() { client.abort() }
    }
    let socket = WebSocket(
      client: client, inbox: inbox, lifecycle: lifecycle, sender: sender, response: response)
    // Cancelled just as the handshake succeeded: the connection is open, so it is closed
    // properly (the deinit of `socket` sends 1001).
    try Task.checkCancellation()
    return socket
  }

  /// How `messages` ends for `result`: nil normally, else the error it throws.
  static func failure(of result: CloseResult, closedLocally: Bool) -> (any Error)? {
    if let error = result.error { return error }
    // Our own close, or our abort (no Close either way): the application chose the end.
    if closedLocally || result.initiatedLocally { return nil }
    guard let received = result.received else { return nil }
    switch received.code {
    case CloseCode.normalClosure, CloseCode.goingAway: return nil
    default: return WebSocketError.closedByServer(received)
    }
  }

  // MARK: Sending

  /// Sends a message after every message sent before it.
  ///
  /// Returns once the message is queued on the connection, which may take a while when the
  /// server reads slowly: the queue is bounded (`WebSocketClient.Configuration.sendQueueLimit`).
  /// Throws `WebSocketError.notOpen` once the connection is closing or closed (no data frame
  /// may follow a Close, RFC 6455 §5.5.1) and `WebSocketError.invalidUTF8` for a text
  /// message that is not UTF-8 (§5.6). Cancelling the task closes the connection with 1001
  /// (§7.4.1) and throws `CancellationError`.
  public func send(_ message: Message) async throws {
    if message.kind == .text && !UTF8Validator.isValid(message.data) { throw WebSocketError.invalidUTF8 }
    let accepted = await withTaskCancellationHandler {
      await sender.send(message)
    } onCancel: {
      goAway()
    }
    if accepted { return }
    try Task.checkCancellation()
    throw WebSocketError.notOpen
  }

  /// Sends a text message; see `send(_:)`.
  public func send(text: String) async throws {
    try await send(Message(kind: .text, data: Array(text.utf8)))
  }

  /// Sends a binary message; see `send(_:)`.
  public func send(binary: [UInt8]) async throws {
    try await send(Message(kind: .binary, data: binary))
  }

  // MARK: Closing

  /// Starts the closing handshake after the messages already sent, and returns how the
  /// connection ended once it has (RFC 6455 §7.1.2).
  ///
  /// `code` must be valid on the wire (§7.4.1, §7.4.2: 1000–1003, 1007–1014, 3000–4999);
  /// a longer `reason` is cut to the 123 bytes a Close frame holds (§5.5). The server's
  /// reply is awaited at most `Options.closeTimeout` seconds. Messages already buffered stay
  /// readable in `messages`; those that arrive meanwhile with the buffer full are dropped,
  /// since the I/O thread must not wait for a consumer while closing. Cancelling the task
  /// stops waiting for the server: the connection is dropped at once.
  @discardableResult
  public func close(code: UInt16 = CloseCode.normalClosure, reason: String = "") async -> CloseResult {
    precondition(CloseCode.isValidOnWire(code), "close code \(code) may not be sent (RFC 6455 §7.4)")
    _ = lifecycle.markClosedLocally()
    inbox.startClosing()
    client.close(code: code, reason: reason)
    return await withTaskCancellationHandler {
      await lifecycle.waitForEnd()
    } onCancel: {
      client.abort()
    }
  }

  /// The application went away (a cancelled task, the last reference released): nothing
  /// will be read any more, so the buffer is dropped and the server told 1001 (§7.4.1).
  func goAway() {
    _ = lifecycle.markClosedLocally()
    inbox.consumerWentAway()
    client.close(code: CloseCode.goingAway)
  }
}
