import WebSocketProtocol

/// What `WebSocketPeer.runOpen` carries from one turn of its loop to the next, besides the
/// protocol state and the read pump: how the connection is ending, its deadlines, and the
/// message hooks as they were when it opened.
struct OpenLoopState {
  /// How the connection ended so far; filled in as Close frames pass and errors happen.
  var result: CloseResult
  var timers: ConnectionTimers
  /// The socket failed or ended without a closing handshake; reported when the loop ends,
  /// unless the protocol reported an error first.
  var transportError: WebSocketClientError?
  /// Server role: our side of TCP is shut down (after our Close went out).
  var shutDown = false
  /// Read once: hooks are set before the connection starts, and these are called per
  /// message, where reading a class property would cost an exclusivity check each time.
  let dataHook: WebSocketConnection.MessageHandler?
  let messageHook: ((Message) -> Void)?
  /// What the protocol hands each complete message to: `dataHook`, or a `Message` built
  /// for `messageHook`.
  let messageHandler: WebSocketConnection.MessageHandler

  init(
    result: CloseResult, timers: ConnectionTimers, dataHook: WebSocketConnection.MessageHandler?,
    messageHook: ((Message) -> Void)?
  ) {
    self.result = result
    self.timers = timers
    self.dataHook = dataHook
    self.messageHook = messageHook
    self.messageHandler = dataHook ?? { kind, data in messageHook?(Message(kind: kind, data: Array(data))) }
  }
}
