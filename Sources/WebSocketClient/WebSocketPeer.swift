import Synchronization
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One open WebSocket connection driven by its own I/O thread, in either role: the part
/// `WebSocketClient` and the connections a `WebSocketServer` accepts have in common.
///
/// The I/O thread owns the socket and the protocol state machine (DESIGN.md §2). It waits in
/// `poll()` on the socket and a wake-up pipe; other threads enqueue commands and wake it.
/// Hooks run on the I/O thread with no lock held, so a hook may call `send`. Memory stays
/// bounded both ways: `send` blocks while more than `sendQueueLimit` bytes wait (except on
/// the I/O thread itself), the I/O thread stops reading the socket while its write buffer
/// is full, and a hook that blocks (a slow stdout) stops the reading too, so TCP pushes
/// back on the peer.
public class WebSocketPeer: @unchecked Sendable {
  /// The limits and timeouts of the open connection.
  struct Limits {
    var role: Role
    var closeTimeout: Double
    var maxMessageSize: Int
    var traceFrames: Bool
    var sendQueueLimit: Int
    var keepalive: Keepalive?
  }

  /// A complete message arrived.
  public var onMessage: ((Message) -> Void)?
  /// A complete message arrived, its payload lent for the duration of the call (valid
  /// UTF-8 for text). For consumers that copy the bytes out anyway (to stdout): no array
  /// is allocated per message. When set, it is called instead of `onMessage`.
  public var onMessageData: WebSocketConnection.MessageHandler?
  /// A Ping arrived (the Pong is already queued).
  public var onPing: (([UInt8]) -> Void)?
  /// A Pong arrived.
  public var onPong: (([UInt8]) -> Void)?
  /// The Pong of a keepalive Ping arrived, this many seconds after the Ping went out
  /// (before `onPong`).
  public var onKeepalivePong: ((Double) -> Void)?
  /// The connection failed; `onClose` follows.
  public var onError: ((WebSocketClientError) -> Void)?
  /// The connection ended; called exactly once, last.
  public var onClose: ((CloseResult) -> Void)?
  /// The socket has nothing more to read right now: a good moment to flush output.
  public var onIdle: (() -> Void)?
  /// Each frame in and out, when `traceFrames` is set.
  public var onFrame: ((FrameTrace) -> Void)?

  let limits: Limits
  /// "server" for a client, "client" for a server's connection: who the peer is, in messages.
  var peerName: String { limits.role == .client ? "server" : "client" }

  private enum Command {
    case message(Message.Kind, [UInt8])
    case batch(Message.Kind, MessageBatch)
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, String)
  }

  // Shared state, guarded by `lock`.
  let lock = ConditionLock()
  private struct Entry {
    var command: Command
    var bytes: Int
    /// Queued by a hook on the I/O thread (an echo reply): such bytes pause reading when
    /// they pile up, so a peer that sends without reading cannot grow them without bound.
    var fromIOThread: Bool
  }

  private var queue: [Entry] = []
  /// Commands the connection ended before handing to the protocol (not our replies, not a
  /// Close): kept so a caller can count them or send them on a new connection.
  private var unsent: [Entry] = []
  /// Set when a hook queued a command: the receive loop then encodes it before parsing
  /// the next message. Only the I/O thread touches it; an atomic because it is read once
  /// per message and a class property would cost a dynamic exclusivity check each time.
  private let queuedFromIOThread = Atomic<Bool>(false)
  /// Bytes of `queue` entries queued from the I/O thread.
  private var replyBytes = 0
  private var queueHead = 0
  private var queuedBytes = 0
  private var acceptingCommands = true
  private var wakePending = false
  var aborted = false
  private var ioThread: pthread_t?
  private var finalResult: CloseResult?

  /// A self-pipe: other threads write a byte to wake the I/O thread from `poll()`. Closed
  /// (under `lock`) as soon as the I/O thread is done, not at `deinit`: a connection object
  /// a caller keeps around must not hold two descriptors (issue 21).
  private var wake: PipePair?
  /// The read end, for the I/O thread's `poll()`; -1 without a pipe.
  let wakeFD: Int32

  /// `wake` is a pipe made for this connection (a server makes it before `accept`, so
  /// running out of descriptors never costs an accepted client); nil makes one here.
  init(limits: Limits, wake: PipePair? = nil) {
    self.limits = limits
    // Without the pipe (EMFILE) `start` reports a local error instead of starting.
    self.wake = wake ?? PipePair.make()
    self.wakeFD = self.wake?.readFD ?? -1
  }

  deinit {
    wake?.close()
  }

  /// Drops every hook once the connection has ended. The hooks commonly capture the
  /// connection itself (to reply, or to name it in a log line); without this the
  /// connection and everything its hooks hold would never be freed.
  func releaseHooks() {
    onMessage = nil
    onMessageData = nil
    onPing = nil
    onPong = nil
    onKeepalivePong = nil
    onError = nil
    onClose = nil
    onIdle = nil
    onFrame = nil
  }

  private func finishIO(_ result: CloseResult) {
    onClose?(result)
    releaseHooks()
    lock.withLock {
      wake?.close()
      wake = nil
    }
  }

  /// The result once the connection has ended.
  public var result: CloseResult? { lock.withLock { finalResult } }

  /// Starts the I/O thread running `body`, which returns how the connection ended; then
  /// `onClose` is called.
  func startIO(_ body: @escaping @Sendable () -> CloseResult) {
    if wakeFD < 0 {
      let result = CloseResult(error: .local("cannot create a pipe: \(errnoText(errno))"), wasOpen: false)
      lock.withLock {
        finalResult = result
        acceptingCommands = false
        keepUnsentLocked()
      }
      onError?(result.error!)
      finishIO(result)
      return
    }
    startThread { [self] in
      lock.withLock { ioThread = pthread_self() }
      let result = body()
      lock.withLock {
        finalResult = result
        acceptingCommands = false
        keepUnsentLocked()
        lock.broadcast()
      }
      finishIO(result)
    }
  }

  /// Ends a connection whose `connect()` was never called: waiters wake, `send` refuses,
  /// and what was queued counts as unsent. No hook runs.
  public func cancelUnstarted(_ result: CloseResult) {
    lock.withLock {
      guard finalResult == nil, ioThread == nil else { return }
      finalResult = result
      acceptingCommands = false
      keepUnsentLocked()
      lock.broadcast()
    }
    releaseHooks()
    lock.withLock {
      wake?.close()
      wake = nil
    }
  }

  /// Data messages that never reached the protocol, once the connection has ended (or
  /// before it started): messages refused by `send` are not in it.
  public var unsentMessageCount: Int {
    lock.withLock {
      (unsent + queue[queueHead...]).reduce(0) { n, entry in
        switch entry.command {
        case .message: return n + 1
        case .batch(_, let b): return n + b.ends.count
        case .ping, .pong, .close: return n
        }
      }
    }
  }

  /// Moves the commands this ended connection never handed to the protocol onto `next`'s
  /// queue, after what `next` already holds (a reconnect: nothing read from stdin is lost
  /// because the connection it was meant for went away). Bypasses `next`'s queue limit.
  /// The first `dropFirst` commands are dropped instead (a preamble `next` sends anew).
  public func handOverUnsent(to next: WebSocketPeer, dropFirst: Int = 0) {
    let entries: ArraySlice<Entry> = lock.withLock {
      guard finalResult != nil else { return [] }
      defer { unsent = [] }
      return unsent.dropFirst(dropFirst)
    }
    guard !entries.isEmpty else { return }
    next.lock.withLock {
      for entry in entries {
        next.queue.append(entry)
        next.queuedBytes += entry.bytes
      }
      next.wakeLocked()
    }
  }

  /// Keeps the queue's data commands and Pings as unsent, then empties the queue.
  private func keepUnsentLocked() {
    for entry in queue[queueHead...] where !entry.fromIOThread {
      if case .close = entry.command { continue }
      unsent.append(entry)
    }
    clearQueueLocked()
  }

  /// Blocks until the connection has ended and returns how it ended.
  public func waitForClose() -> CloseResult {
    lock.withLock {
      while finalResult == nil { lock.wait() }
      return finalResult!
    }
  }

  /// Blocks until the connection has ended or `timeout` seconds pass.
  public func wait(timeout: Double?) -> CloseResult? {
    let deadline = timeout.map { MonotonicClock.now() + $0 }
    return lock.withLock {
      while finalResult == nil {
        if !lock.wait(until: deadline) && deadline.map({ MonotonicClock.now() >= $0 }) == true { break }
      }
      return finalResult
    }
  }

  // MARK: Sending

  /// Queues a text message. Returns false if the connection no longer accepts messages.
  @discardableResult
  public func send(text: String) -> Bool {
    enqueue(.message(.text, Array(text.utf8)), bytes: text.utf8.count)
  }

  /// Queues a binary message. Returns false if the connection no longer accepts messages.
  @discardableResult
  public func send(binary: [UInt8]) -> Bool { enqueue(.message(.binary, binary), bytes: binary.count) }

  /// Queues a message of either kind; text must be valid UTF-8 or it is dropped with an error.
  @discardableResult
  public func send(_ kind: Message.Kind, _ data: [UInt8]) -> Bool {
    enqueue(.message(kind, data), bytes: data.count)
  }

  /// Queues several messages of one kind with one lock, in order. Returns false if the
  /// connection no longer accepts messages.
  @discardableResult
  public func send(_ kind: Message.Kind, batch: MessageBatch) -> Bool {
    if batch.isEmpty { return true }
    return enqueue(.batch(kind, batch), bytes: batch.bytes.count)
  }

  /// Queues a Ping (at most 125 bytes).
  @discardableResult
  public func ping(_ data: [UInt8] = []) -> Bool { enqueue(.ping(data), bytes: data.count) }

  /// Queues an unsolicited Pong (at most 125 bytes).
  @discardableResult
  public func pong(_ data: [UInt8] = []) -> Bool { enqueue(.pong(data), bytes: data.count) }

  /// Starts the closing handshake after every message queued so far. With `discardQueued`
  /// the messages not yet handed to the protocol are dropped and the Close goes next (for an
  /// interrupt: no data frame may follow our Close, RFC 6455 §5.5.1).
  public func close(code: UInt16? = CloseCode.normalClosure, reason: String = "", discardQueued: Bool = false)
  {
    lock.withLock {
      guard acceptingCommands else { return }
      if discardQueued { clearQueueLocked() }
      queue.append(Entry(command: .close(code, reason), bytes: 0, fromIOThread: false))
      acceptingCommands = false
      wakeLocked()
      lock.broadcast()
    }
  }

  /// Drops the connection at once, without a closing handshake.
  public func abort() {
    lock.withLock {
      aborted = true
      acceptingCommands = false
      wakeLocked()
      lock.broadcast()
    }
  }

  /// Blocks until every queued command has been handed to the protocol (or the connection ended).
  public func waitUntilQueueDrained() {
    lock.withLock {
      while queueHead < queue.count && finalResult == nil { lock.wait() }
    }
  }

  private func enqueue(_ command: Command, bytes: Int) -> Bool {
    lock.withLock {
      let onIOThread = ioThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
      while acceptingCommands && !onIOThread && queuedBytes > 0
        && queuedBytes + bytes > limits.sendQueueLimit
      {
        lock.wait()
      }
      guard acceptingCommands else { return false }
      queue.append(Entry(command: command, bytes: bytes, fromIOThread: onIOThread))
      queuedBytes += bytes
      if onIOThread {
        replyBytes += bytes
        queuedFromIOThread.store(true, ordering: .relaxed)
      }
      wakeLocked()
      return true
    }
  }

  private func wakeLocked() {
    // After the I/O thread is done there is nobody to wake, and no pipe.
    guard !wakePending, let wake else { return }
    wakePending = true
    wake.signal()
  }

  // MARK: The I/O thread

  /// Polls until `transport` is ready, the deadline passes (timeout) or `abort()` is called.
  func waitFor(_ transport: Transport, write: Bool, deadline: Double) -> WebSocketClientError? {
    while true {
      if lock.withLock({ aborted }) { return .local("aborted") }
      let remaining = deadline - MonotonicClock.now()
      if remaining <= 0 { return .timeout("during the opening handshake") }
      var fds = [
        pollfd(fd: transport.fileDescriptor, events: Int16(write ? POLLOUT : POLLIN), revents: 0),
        pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
      ]
      let r = poll(&fds, 2, Int32((remaining * 1000).rounded(.up)))
      if r > 0 && fds[0].revents != 0 { return nil }
      if fds[1].revents != 0 { drainWake() }
    }
  }

  func drainWake() {
    var sink = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    _ = withUnsafeMutableBytes(of: &sink) { Glibc.read(wakeFD, $0.baseAddress, $0.count) }
    lock.withLock { wakePending = false }
  }

  /// The open connection: move commands into the protocol, write, read, deliver events,
  /// and run the closing handshake with its timeouts.
  func runOpen(
    _ connection: inout WebSocketConnection, _ transport: Transport, leftover: [UInt8],
    result initial: CloseResult
  ) -> CloseResult {
    var result = initial
    let highWater = 1 << 20
    var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    var closeDeadline: Double? = nil  // waiting for the peer's Close
    var lingerDeadline: Double? = nil  // closing handshake done or failed: waiting for TCP to end
    var transportError: WebSocketClientError? = nil
    var sawEOF = false
    var readWantsWrite = false  // TLS: SSL_read needs the socket writable first
    var shutDown = false  // server role: our side of TCP is closed
    var largestDirect = 0  // the largest message read directly so far: its size sets SO_RCVBUF
    var afterDirect = false  // the last read completed a message read directly
    // Keepalive: when the next Ping is due (nil: no more Pings), and the one awaiting its
    // Pong, with the time the Pong is due by.
    var nextPing = limits.keepalive.map { MonotonicClock.now() + $0.interval }
    var unansweredPing: (payload: [UInt8], deadline: Double, sent: Double)? = nil
    var pingsSent: UInt32 = 0

    // Read once: hooks are set before the connection starts.
    let dataHook = onMessageData
    let messageHook = onMessage
    let messageHandler: WebSocketConnection.MessageHandler =
      dataHook ?? { kind, data in messageHook?(Message(kind: kind, data: Array(data))) }

    func deliver(_ connection: inout WebSocketConnection) {
      guard connection.hasEvents else { return }
      for event in connection.takeEvents() {
        switch event {
        case .message(let m):
          if let dataHook { m.data.withUnsafeBytes { dataHook(m.kind, $0) } } else { messageHook?(m) }
        case .ping(let p): onPing?(p)
        case .pong(let p):
          if let ping = unansweredPing, p == ping.payload {
            unansweredPing = nil
            onKeepalivePong?(MonotonicClock.now() - ping.sent)
          }
          onPong?(p)
        case .frame(let t): onFrame?(t)
        case .close(let frame):
          result.received = frame
          if result.sent == nil { result.sent = connection.sentClose }
          stopAcceptingCommands()
        case .failed(let error):
          result.error = .protocolViolation(error)
          onError?(result.error!)
          stopAcceptingCommands()
        }
      }
    }

    if !leftover.isEmpty {
      // Frames that came in the same segment as the 101: deliver them and let the
      // application flush now, the server may stay silent after them.
      receive(&connection, leftover, count: leftover.count, onMessage: messageHandler, deliver: deliver)
      onIdle?()
    }

    while true {
      let now = MonotonicClock.now()
      if lock.withLock({ aborted }) { break }

      // Commands from other threads, while the write buffer has room.
      if connection.state == .open && connection.outgoingCount < highWater {
        pullCommands(&connection, limit: highWater)
        if connection.sentClose != nil && result.sent == nil {
          result.sent = connection.sentClose
          result.initiatedLocally = connection.receivedClose == nil
          if connection.receivedClose == nil { closeDeadline = now + limits.closeTimeout }
        }
        deliver(&connection)
      }

      if let keepalive = limits.keepalive, let due = nextPing, unansweredPing == nil, now >= due,
        connection.canSend
      {
        pingsSent &+= 1
        let payload = withUnsafeBytes(of: pingsSent.bigEndian) { Array($0) }
        if (try? connection.ping(payload)) != nil { unansweredPing = (payload, now + keepalive.timeout, now) }
        nextPing = now + keepalive.interval
      }

      // Write what we can.
      var writeBlocked = false
      var writeWantsRead = false
      while connection.outgoingCount > 0 && transportError == nil {
        var outcome: IOResult = .done(0)
        connection.withOutgoing { bytes in
          outcome = transport.write(bytes)
          if case .done(let n) = outcome { return n }
          return 0
        }
        switch outcome {
        case .done: continue
        case .wouldBlock(let wantsWrite):
          writeBlocked = true
          writeWantsRead = !wantsWrite
        case .eof: transportError = .connectionLost("the \(peerName) closed the connection")
        case .failed(let s): transportError = .connectionLost(s)
        }
        break
      }
      if transportError != nil { break }

      if connection.state == .closed || connection.state == .failed {
        if lingerDeadline == nil {
          // §7.1.1: the server closes TCP first; we wait a bounded time (Chromium: 2 s), and
          // after a failure only long enough to flush our Close.
          lingerDeadline = now + (connection.state == .failed ? 1 : 2)
        }
        if limits.role == .server {
          // §7.1.1: the server closes the TCP connection first. Half-close once our Close is
          // out, then read (and drop) until the client's FIN, so unread bytes never turn our
          // close into a reset that could destroy the Close frame in flight.
          if connection.outgoingCount == 0 && !shutDown {
            shutDown = true
            transport.shutdownWrite()
          }
        } else if connection.state == .failed && connection.outgoingCount == 0 {
          break
        }
        if now >= lingerDeadline! { break }
      }
      if let d = closeDeadline, connection.receivedClose == nil, connection.state != .failed, now >= d {
        result.error = .timeout(
          "waiting for the \(peerName)'s Close (--close-timeout \(formatSeconds(limits.closeTimeout)))")
        onError?(result.error!)
        break
      }

      // Commands that arrived while the write buffer was full: take them before sleeping
      // (their wake-up byte may already have been consumed).
      if connection.state == .open && connection.outgoingCount < highWater
        && lock.withLock({ queueHead < queue.count })
      {
        continue
      }

      // Wait.
      // Back-pressure: while the server is not reading what we owe it (echo replies,
      // pongs), stop reading what it sends (CHECKLIST K3).
      let reading = pendingReplyBytes < highWater || connection.state != .open
      var events: Int16 = 0
      if reading || writeWantsRead { events |= Int16(POLLIN) }
      if (writeBlocked && !writeWantsRead) || readWantsWrite { events |= Int16(POLLOUT) }
      var fds = [
        pollfd(fd: transport.fileDescriptor, events: events, revents: 0),
        pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
      ]
      var timeout: Int32 = -1
      // A late Pong is judged only while reading (below); while reading is paused its
      // deadline must not wake the loop, or it would spin.
      let keepaliveDue =
        connection.canSend
        ? (unansweredPing == nil ? nextPing : reading ? unansweredPing?.deadline : nil) : nil
      for d in [closeDeadline, lingerDeadline, keepaliveDue].compactMap({ $0 }) {
        let ms = Int32(max(0, min((d - now) * 1000, 86_400_000)).rounded(.up))
        timeout = timeout < 0 ? ms : min(timeout, ms)
      }
      if reading && transport.hasBufferedInput { timeout = 0 }
      let ready = poll(&fds, 2, timeout)
      if ready < 0 {
        if errno == EINTR { continue }
        transportError = .local("poll: \(errnoText(errno))")
        break
      }
      if fds[1].revents != 0 { drainWake() }
      let revents = fds[0].revents
      if let keepalive = limits.keepalive, let d = unansweredPing?.deadline, reading,
        !transport.hasBufferedInput,
        revents & Int16(POLLIN | POLLHUP | POLLERR) == 0, connection.state == .open,
        MonotonicClock.now() >= d
      {
        // Nothing left to read and still no Pong: the peer is gone or stuck (K4).
        unansweredPing = nil
        nextPing = nil
        result.error = .timeout(
          "waiting for the \(peerName)'s Pong to our keepalive Ping (--ping-timeout \(formatSeconds(keepalive.timeout)))"
        )
        onError?(result.error!)
        connection.abandon(code: CloseCode.internalError, reason: "keepalive ping timeout")
        if result.sent == nil { result.sent = connection.sentClose }
        stopAcceptingCommands()
        continue
      }
      let retryRead = readWantsWrite && revents & Int16(POLLOUT) != 0
      readWantsWrite = false
      if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 || (reading && transport.hasBufferedInput)
        || retryRead
      {
        // Read until the socket is empty, then let the application flush.
        var reads = 0
        readLoop: while reads < 64 {
          reads += 1
          let r: IOResult
          let remaining = connection.directPayloadRemaining
          let direct = remaining > 0
          if direct {
            // A large message's payload goes straight into its buffer, not via readBuffer.
            if remaining > largestDirect {
              largestDirect = remaining
              ReceiveBuffer.grow(transport.fileDescriptor, toHold: remaining)
            }
            var outcome: IOResult = .done(0)
            connection.receivePayloadDirectly(onMessage: messageHandler) { space in
              outcome = transport.read(space)
              if case .done(let n) = outcome { return n }
              return 0
            }
            r = outcome
          } else {
            // Right after a large message, read just one frame header: if the next message
            // is large too, all of its payload then goes straight into its own buffer
            // instead of its first 256 KiB being copied there out of readBuffer.
            let limit = afterDirect ? FrameHeader.maxSize : readBuffer.count
            afterDirect = false
            r = readBuffer.withUnsafeMutableBytes { transport.read(.init(rebasing: $0.prefix(limit))) }
          }
          switch r {
          case .done(let n):
            if direct {
              afterDirect = connection.directPayloadRemaining == 0
              deliver(&connection)
              encodeHookReplies(&connection, deliver: deliver)
            } else {
              receive(&connection, readBuffer, count: n, onMessage: messageHandler, deliver: deliver)
            }
            if pendingReplyBytes >= highWater { break readLoop }
          case .wouldBlock(let wantsWrite):
            readWantsWrite = wantsWrite
            onIdle?()
            break readLoop
          case .eof:
            sawEOF = true
            let clean = connection.receiveEOF()
            if !clean {
              transportError = .connectionLost(
                connection.sentClose == nil
                  ? "the \(peerName) closed the TCP connection without a Close frame"
                  : "the \(peerName) closed the TCP connection without answering our Close")
            }
            onIdle?()
            break readLoop
          case .failed(let s):
            sawEOF = true
            if !connection.eofIsClean { transportError = .connectionLost(s) }
            connection.receiveEOF()
            onIdle?()
            break readLoop
          }
        }
        if transportError != nil || sawEOF { break }
      }
    }
    if let e = transportError, result.error == nil {
      result.error = e
      onError?(e)
    }
    if result.sent == nil { result.sent = connection.sentClose }
    if result.received == nil { result.received = connection.receivedClose }
    onIdle?()
    return result
  }

  /// Feeds `count` bytes of `buffer`, delivering each message and the events before the
  /// next is parsed, and encoding replies the hooks queued in between, so an answer to a
  /// message precedes the Close of a protocol error that follows it.
  private func receive(
    _ connection: inout WebSocketConnection, _ buffer: [UInt8], count: Int,
    onMessage: @escaping WebSocketConnection.MessageHandler,
    deliver: (inout WebSocketConnection) -> Void
  ) {
    buffer.withUnsafeBytes { raw in
      var index = 0
      while true {
        let consumed = connection.receiveSome(
          UnsafeRawBufferPointer(rebasing: raw[index..<count]), onMessage: onMessage)
        index += consumed
        let hadEvents = connection.hasEvents
        deliver(&connection)
        encodeHookReplies(&connection, deliver: deliver)
        // A call that consumed nothing and reported nothing means the input is used up
        // (a frame's end is always reported in the call that consumed its last byte) or
        // the connection stopped reading.
        if consumed == 0 && !hadEvents { break }
      }
    }
  }

  /// Encodes what the hooks just queued (an echo reply) before the next message is parsed.
  private func encodeHookReplies(
    _ connection: inout WebSocketConnection, deliver: (inout WebSocketConnection) -> Void
  ) {
    guard queuedFromIOThread.load(ordering: .relaxed) else { return }
    queuedFromIOThread.store(false, ordering: .relaxed)
    guard connection.state == .open else { return }
    pullCommands(&connection, limit: Int.max)
    deliver(&connection)
  }

  /// Replies queued by hooks and not yet encoded. Only these pause reading: pausing for
  /// our own outgoing stream could deadlock against a server that is blocked writing
  /// replies to us (it stops reading until we read).
  private var pendingReplyBytes: Int { lock.withLock { replyBytes } }

  private func clearQueueLocked() {
    queue.removeAll()
    queueHead = 0
    queuedBytes = 0
    replyBytes = 0
  }

  private func pullCommands(_ connection: inout WebSocketConnection, limit: Int) {
    var batch: [Command] = []
    lock.withLock {
      var bytes = 0
      while queueHead < queue.count && connection.outgoingCount + bytes < limit {
        let entry = queue[queueHead]
        queueHead += 1
        bytes += entry.bytes
        queuedBytes -= entry.bytes
        if entry.fromIOThread { replyBytes -= entry.bytes }
        batch.append(entry.command)
      }
      if queueHead == queue.count {
        queue.removeAll(keepingCapacity: queue.capacity < 4096)
        queueHead = 0
      } else if queueHead > 1024 && queueHead * 2 > queue.count {
        queue.removeSubrange(0..<queueHead)
        queueHead = 0
      }
      if !batch.isEmpty { lock.broadcast() }
    }
    for command in batch {
      do throws(UsageError) {
        switch command {
        case .message(let kind, let data): try connection.send(kind, data)
        case .batch(let kind, let messages):
          messages.forEach { data in
            do throws(UsageError) {
              try connection.send(kind, data)
              return true
            } catch {
              onError?(.local("not sent: \(error.description)"))
              // Once the connection is closing, the rest of the batch cannot go either.
              return error != .connectionClosing
            }
          }
        case .ping(let data): try connection.ping(data)
        case .pong(let data): try connection.pong(data)
        case .close(let code, let reason): try connection.close(code: code, reason: reason)
        }
      } catch {
        onError?(.local("not sent: \(error.description)"))
      }
    }
  }

  private func stopAcceptingCommands() {
    lock.withLock {
      acceptingCommands = false
      keepUnsentLocked()
      lock.broadcast()
    }
  }
}
