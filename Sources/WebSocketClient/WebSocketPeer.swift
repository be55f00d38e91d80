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
/// `poll()` on the socket; other threads enqueue commands and wake it with a signal
/// (`WakeSignal`: SIGURG, for which the process gets a handler that does nothing), so a
/// connection costs one descriptor, its socket.
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
  let queuedFromIOThread = Atomic<Bool>(false)
  /// Bytes of `queue` entries queued from the I/O thread.
  private var replyBytes = 0
  private var queueHead = 0
  private var queuedBytes = 0
  private var acceptingCommands = true
  private var wakePending = false
  var aborted = false
  private var ioThread: pthread_t?
  private var finalResult: CloseResult?

  /// The I/O thread has started and not yet finished: only then may `wakeLocked` signal
  /// it (a thread that has exited must never be sent a signal).
  private var ioRunning = false

  init(limits: Limits) {
    self.limits = limits
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
  }

  /// The result once the connection has ended.
  public var result: CloseResult? { lock.withLock { finalResult } }

  /// Starts the I/O thread running `body`, which returns how the connection ended; then
  /// `onClose` is called. Returns nil, or why the thread could not start: then the
  /// connection has already ended with that error (`onError`, `onClose`), and `body`
  /// never runs.
  @discardableResult
  func startIO(_ body: @escaping @Sendable () -> CloseResult) -> String? {
    if let reason = WakeSignal.installFailure {
      endUnstarted(CloseResult(error: .local(reason), wasOpen: false))
      return reason
    }
    let failure = startThread { [self] in
      // Blocked before the thread is known to wakers: a wake-up then waits, pending,
      // for the next `WakeSignal.poll` instead of interrupting anything else.
      let blocked = WakeSignal.blockInThisThread()
      lock.withLock {
        ioThread = pthread_self()
        ioRunning = blocked
      }
      let result = body()
      lock.withLock {
        ioRunning = false
        recordEndLocked(result)
      }
      finishIO(result)
    }
    if let failure { endUnstarted(CloseResult(error: .local(failure), wasOpen: false)) }
    return failure
  }

  /// The connection has ended with `result`: `send` refuses from now on, what was queued
  /// counts as unsent, and whoever waits for the end wakes.
  private func recordEndLocked(_ result: CloseResult) {
    finalResult = result
    acceptingCommands = false
    keepUnsentLocked()
    lock.broadcast()
  }

  /// The I/O thread could not start: the connection ends here, as if it had run.
  private func endUnstarted(_ result: CloseResult) {
    lock.withLock { recordEndLocked(result) }
    onError?(result.error!)
    finishIO(result)
  }

  /// Ends a connection whose `connect()` was never called: waiters wake, `send` refuses,
  /// and what was queued counts as unsent. No hook runs.
  public func cancelUnstarted(_ result: CloseResult) {
    lock.withLock {
      guard finalResult == nil, ioThread == nil else { return }
      recordEndLocked(result)
    }
    releaseHooks()
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
    return enqueue(.batch(kind, batch), bytes: batch.byteCount)
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

  /// Wakes the I/O thread once until it has seen the wake-up (`wokeUp`). Before the
  /// thread has started there is nobody to wake: it takes the queue before it first
  /// waits. After it is done nobody may be signalled.
  private func wakeLocked() {
    guard !wakePending, ioRunning, let ioThread else { return }
    wakePending = true
    WakeSignal.wake(ioThread)
  }

  // MARK: The I/O thread

  /// Polls until `transport` is ready, the deadline passes (timeout) or `abort()` is called.
  func waitFor(_ transport: Transport, write: Bool, deadline: Double) -> WebSocketClientError? {
    while true {
      if lock.withLock({ aborted }) { return .local("aborted") }
      let remaining = deadline - MonotonicClock.now()
      if remaining <= 0 { return .timeout("during the opening handshake") }
      var pfd = pollfd(fd: transport.fileDescriptor, events: Int16(write ? POLLOUT : POLLIN), revents: 0)
      let r = WakeSignal.poll(&pfd, 1, Int32((remaining * 1000).rounded(.up)))
      if r > 0 && pfd.revents != 0 { return nil }
      if r < 0 && errno == EINTR { wokeUp() }
    }
  }

  /// The I/O thread's wait ended with EINTR: the wake-up was delivered (or another
  /// signal came; then the thread looks at its queue for nothing). From here on a new
  /// command signals again.
  func wokeUp() {
    lock.withLock { wakePending = false }
  }

  /// Replies queued by hooks and not yet encoded. Only these pause reading: pausing for
  /// our own outgoing stream could deadlock against a server that is blocked writing
  /// replies to us (it stops reading until we read).
  var pendingReplyBytes: Int { lock.withLock { replyBytes } }

  /// Commands wait in the queue, not yet handed to the protocol.
  var hasQueuedCommands: Bool { lock.withLock { queueHead < queue.count } }

  private func clearQueueLocked() {
    queue.removeAll()
    queueHead = 0
    queuedBytes = 0
    replyBytes = 0
  }

  func pullCommands(_ connection: inout WebSocketConnection, limit: Int) {
    var batch: [Command] = []
    // An upper bound of the frames' size: payloads plus a header of at most 14 bytes each.
    var frameBytes = 0
    lock.withLock {
      var bytes = 0
      while queueHead < queue.count && connection.outgoingCount + bytes < limit {
        let entry = queue[queueHead]
        queueHead += 1
        bytes += entry.bytes
        if case .batch(_, let b) = entry.command {
          frameBytes += entry.bytes + FrameHeader.maxSize * b.ends.count
        } else {
          frameBytes += entry.bytes + FrameHeader.maxSize
        }
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
    connection.reserveOutgoing(frameBytes)
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

  func stopAcceptingCommands() {
    lock.withLock {
      acceptingCommands = false
      keepUnsentLocked()
      lock.broadcast()
    }
  }
}
