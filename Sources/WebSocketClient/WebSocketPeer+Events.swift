import WebSocketProtocol

/// Event delivery: what the protocol reports goes to the hooks, on the I/O thread, in the
/// order it happened, and what the hooks queue in reply is encoded before the next message.
extension WebSocketPeer {
  /// Hands the protocol's pending events to the hooks, and notes in `state` what ends
  /// the connection (a Close, a protocol error) or answers a keepalive Ping.
  func deliver(_ connection: inout WebSocketConnection, _ state: inout OpenLoopState) {
    guard connection.hasEvents else { return }
    for event in connection.takeEvents() {
      switch event {
      case .message(let m):
        if let dataHook = state.dataHook {
          m.data.withUnsafeBytes { dataHook(m.kind, $0) }
        } else {
          state.messageHook?(m)
        }
      case .ping(let p): onPing?(p)
      case .pong(let p):
        if let roundTrip = state.timers.keepalive?.pongArrived(p, now: MonotonicClock.now()) {
          onKeepalivePong?(roundTrip)
        }
        onPong?(p)
      case .frame(let t): onFrame?(t)
      case .close(let frame):
        state.result.received = frame
        if state.result.sent == nil { state.result.sent = connection.sentClose }
        stopAcceptingCommands()
      case .failed(let error):
        state.result.error = .protocolViolation(error)
        onError?(state.result.error!)
        stopAcceptingCommands()
      }
    }
  }

  /// Feeds `bytes`, delivering each message and the events before the next is parsed,
  /// and encoding replies the hooks queued in between, so an answer to a message precedes
  /// the Close of a protocol error that follows it.
  func receive(
    _ connection: inout WebSocketConnection, _ bytes: UnsafeRawBufferPointer, _ state: inout OpenLoopState
  ) {
    var index = 0
    while true {
      // A run of small messages stays in one call while the hooks queue nothing.
      let consumed = connection.receiveSome(
        UnsafeRawBufferPointer(rebasing: bytes[index...]), onMessage: state.messageHandler
      ) { self.queuedFromIOThread.load(ordering: .relaxed) }
      index += consumed
      let hadEvents = connection.hasEvents
      deliver(&connection, &state)
      encodeHookReplies(&connection, &state)
      // A call that consumed nothing and reported nothing means the input is used up
      // (a frame's end is always reported in the call that consumed its last byte) or
      // the connection stopped reading.
      if consumed == 0 && !hadEvents { break }
    }
  }

  /// Encodes what the hooks just queued (an echo reply) before the next message is parsed.
  func encodeHookReplies(_ connection: inout WebSocketConnection, _ state: inout OpenLoopState) {
    guard queuedFromIOThread.load(ordering: .relaxed) else { return }
    queuedFromIOThread.store(false, ordering: .relaxed)
    guard connection.state == .open else { return }
    pullCommands(&connection, limit: Int.max)
    deliver(&connection, &state)
  }
}
