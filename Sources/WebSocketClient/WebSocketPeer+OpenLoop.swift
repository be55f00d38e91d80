import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The open connection's loop on the I/O thread, in named steps: take commands, send a
/// due keepalive Ping, write (`WritePump`), run the closing handshake's deadlines, wait in
/// `poll()`, judge a late Pong, read and deliver (`ReadPump`, event delivery).
extension WebSocketPeer {
  /// Above this many bytes the loop stops taking commands (our own output waiting to be
  /// written) and stops reading (replies the hooks queued, waiting to be encoded).
  static let highWater = 1 << 20
  /// The most output buffer capacity a connection keeps while it waits with nothing to write.
  static let idleBufferLimit = 16 << 10

  /// What `waitForIO` saw.
  private enum Wake {
    case ready(revents: Int16)
    /// The wake-up signal (or another) interrupted `poll()`: start the turn again, taking
    /// the commands that came.
    case interrupted
    case failed(WebSocketClientError)
  }

  /// The open connection: move commands into the protocol, write, read, deliver events,
  /// and run the closing handshake with its timeouts.
  func runOpen(
    _ connection: inout WebSocketConnection, _ transport: Transport, leftover: [UInt8],
    result initial: CloseResult
  ) -> CloseResult {
    var state = OpenLoopState(
      result: initial, timers: ConnectionTimers(keepalive: limits.keepalive, now: MonotonicClock.now()),
      dataHook: onMessageData, messageHook: onMessage)
    var reader = ReadPump()
    if !leftover.isEmpty {
      // Frames that came in the same segment as the 101: deliver them and let the
      // application flush now, the server may stay silent after them.
      leftover.withUnsafeBytes { receive(&connection, $0, &state) }
      onIdle?()
    }
    turns: while !lock.withLock({ aborted }) {
      let now = MonotonicClock.now()
      takeCommands(&connection, &state, now: now)
      sendDueKeepalivePing(&connection, &state.timers, now: now)
      let written = WritePump.flush(&connection, to: transport, peerName: peerName)
      if let error = written.error {
        state.transportError = error
        break turns
      }
      if closingIsOver(&connection, transport, &state, now: now) { break turns }
      // Commands that arrived while the write buffer was full: take them before sleeping
      // (their wake-up may already have been seen).
      if hasRoomForCommands(connection) && hasQueuedCommands { continue }
      // Back-pressure: while the peer is not reading what we owe it (echo replies,
      // pongs), stop reading what it sends (CHECKLIST K3).
      let reading = pendingReplyBytes < Self.highWater || connection.state != .open
      // Going to sleep with everything written: an idle connection keeps no large buffer.
      if connection.outgoingCount == 0 {
        connection.releaseOutgoingBuffer(keepingCapacity: Self.idleBufferLimit)
      }
      let revents: Int16
      switch waitForIO(connection, transport, state.timers, reader, written, reading: reading, now: now) {
      case .ready(let r): revents = r
      case .interrupted: continue
      case .failed(let error):
        state.transportError = error
        break turns
      }
      if keepaliveTimedOut(&connection, transport, &state, revents: revents, reading: reading) { continue }
      if reader.isDue(revents: revents, reading: reading, transport: transport)
        && reader.run(&connection, transport, peer: self, &state, highWater: Self.highWater) == .ended
      {
        break turns
      }
    }
    return finish(connection, &state)
  }

  private func hasRoomForCommands(_ connection: WebSocketConnection) -> Bool {
    connection.state == .open && connection.outgoingCount < Self.highWater
  }

  /// Commands from other threads, while the write buffer has room; our Close among them
  /// starts the close timeout.
  private func takeCommands(
    _ connection: inout WebSocketConnection, _ state: inout OpenLoopState, now: Double
  ) {
    guard hasRoomForCommands(connection) else { return }
    pullCommands(&connection, limit: Self.highWater)
    if connection.sentClose != nil && state.result.sent == nil {
      state.result.sent = connection.sentClose
      state.result.initiatedLocally = connection.receivedClose == nil
      if connection.receivedClose == nil { state.timers.close = now + limits.closeTimeout }
    }
    deliver(&connection, &state)
  }

  private func sendDueKeepalivePing(
    _ connection: inout WebSocketConnection, _ timers: inout ConnectionTimers, now: Double
  ) {
    guard connection.canSend, let payload = timers.keepalive?.takeDuePing(now: now) else { return }
    if (try? connection.ping(payload)) != nil { timers.keepalive?.sent(payload, now: now) }
  }

  /// The closing handshake's end and deadlines (RFC 6455 §7.1.1): true when the loop is
  /// done. Once the protocol is closed or failed the connection lingers until TCP ends; a
  /// server half-closes once its Close is out, then reads (and drops) until the client's
  /// FIN, so unread bytes never turn its close into a reset that could destroy the Close
  /// in flight. A Close of ours the peer does not answer in time is a timeout.
  private func closingIsOver(
    _ connection: inout WebSocketConnection, _ transport: Transport, _ state: inout OpenLoopState, now: Double
  ) -> Bool {
    if connection.state == .closed || connection.state == .failed {
      let linger = state.timers.startLinger(now: now, failed: connection.state == .failed)
      if limits.role == .server {
        if connection.outgoingCount == 0 && !state.shutDown {
          state.shutDown = true
          transport.shutdownWrite()
        }
      } else if connection.state == .failed && connection.outgoingCount == 0 {
        return true
      }
      if now >= linger { return true }
    }
    if let d = state.timers.close, connection.receivedClose == nil, connection.state != .failed, now >= d {
      state.result.error = .timeout(
        "waiting for the \(peerName)'s Close (--close-timeout \(formatSeconds(limits.closeTimeout)))")
      onError?(state.result.error!)
      return true
    }
    return false
  }

  /// Sleeps in `poll()` on the socket until it is ready, the next deadline, or a wake-up
  /// from another thread.
  private func waitForIO(
    _ connection: WebSocketConnection, _ transport: Transport, _ timers: ConnectionTimers, _ reader: ReadPump,
    _ written: WritePump.Outcome, reading: Bool, now: Double
  ) -> Wake {
    var events: Int16 = 0
    if reading || written.wantsRead { events |= Int16(POLLIN) }
    if (written.blocked && !written.wantsRead) || reader.wantsWrite { events |= Int16(POLLOUT) }
    var pfd = pollfd(fd: transport.fileDescriptor, events: events, revents: 0)
    var timeout = ConnectionTimers.pollTimeout(
      until: timers.nextDeadline(canSend: connection.canSend, reading: reading), now: now)
    if reading && transport.hasBufferedInput { timeout = 0 }
    if WakeSignal.poll(&pfd, 1, timeout) < 0 {
      if errno == EINTR {
        wokeUp()
        return .interrupted
      }
      return .failed(.local("poll: \(errnoText(errno))"))
    }
    return .ready(revents: pfd.revents)
  }

  /// With nothing left to read and still no Pong to our keepalive Ping, the peer is gone
  /// or stuck (CHECKLIST K4): fail with 1011. Only judged while reading, so a Pong that
  /// waited behind data (a slow stdout held the I/O thread) is still seen in time.
  private func keepaliveTimedOut(
    _ connection: inout WebSocketConnection, _ transport: Transport, _ state: inout OpenLoopState,
    revents: Int16, reading: Bool
  ) -> Bool {
    guard let keepalive = state.timers.keepalive, reading, !transport.hasBufferedInput,
      revents & Int16(POLLIN | POLLHUP | POLLERR) == 0, connection.state == .open,
      keepalive.isOverdue(now: MonotonicClock.now())
    else { return false }
    state.timers.keepalive?.giveUp()
    state.result.error = .timeout(
      "waiting for the \(peerName)'s Pong to our keepalive Ping (--ping-timeout \(formatSeconds(keepalive.settings.timeout)))"
    )
    onError?(state.result.error!)
    connection.abandon(code: CloseCode.internalError, reason: "keepalive ping timeout")
    if state.result.sent == nil { state.result.sent = connection.sentClose }
    stopAcceptingCommands()
    return true
  }

  /// The loop is over: report a transport error the protocol did not explain, and fill
  /// in the Close frames the events did not.
  private func finish(_ connection: WebSocketConnection, _ state: inout OpenLoopState) -> CloseResult {
    if let e = state.transportError, state.result.error == nil {
      state.result.error = e
      onError?(e)
    }
    if state.result.sent == nil { state.result.sent = connection.sentClose }
    if state.result.received == nil { state.result.received = connection.receivedClose }
    onIdle?()
    return state.result
  }
}
