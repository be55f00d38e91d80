import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A WebSocket client with the browser's shape: set the hooks, `connect()`, then `send`,
/// `ping` and `close` from any thread.
///
/// One I/O thread per connection owns the socket and the protocol state machine
/// (DESIGN.md §2). It waits in `poll()` on the socket and an eventfd; other threads enqueue
/// commands and wake it. Hooks run on the I/O thread with no lock held, so a hook may call
/// `send`. Memory stays bounded both ways: `send` blocks while more than
/// `sendQueueLimit` bytes wait (except on the I/O thread itself), the I/O thread stops
/// reading the socket while its write buffer is full, and a hook that blocks (a slow
/// stdout) stops the reading too, so TCP pushes back on the server.
public final class WebSocketClient: @unchecked Sendable {
  /// Everything the connection needs to know before it starts.
  public struct Configuration: Sendable {
    public var handshake: ClientHandshake.Options
    /// Covers DNS, TCP connect and the opening handshake together (CHECKLIST B2).
    public var connectTimeout: Double
    /// How long to wait for the server's Close after ours (RFC 6455 §7.1.2).
    public var closeTimeout: Double
    public var maxMessageSize: Int
    /// Report every frame through `onFrame` (for `-v`).
    public var traceFrames: Bool
    /// Bytes of queued messages above which `send` blocks.
    public var sendQueueLimit: Int
    /// TLS settings for wss:// URIs.
    public var tls: TLSOptions

    public init(
      handshake: ClientHandshake.Options, connectTimeout: Double = 10, closeTimeout: Double = 2,
      maxMessageSize: Int = 64 << 20, traceFrames: Bool = false, sendQueueLimit: Int = 4 << 20,
      tls: TLSOptions = TLSOptions()
    ) {
      self.tls = tls
      self.handshake = handshake
      self.connectTimeout = connectTimeout
      self.closeTimeout = closeTimeout
      self.maxMessageSize = maxMessageSize
      self.traceFrames = traceFrames
      self.sendQueueLimit = sendQueueLimit
    }
  }

  /// The handshake succeeded; queued messages go out next.
  public var onOpen: ((ClientHandshake.Response) -> Void)?
  /// A complete message arrived.
  public var onMessage: ((Message) -> Void)?
  /// A Ping arrived (the Pong is already queued).
  public var onPing: (([UInt8]) -> Void)?
  /// A Pong arrived.
  public var onPong: (([UInt8]) -> Void)?
  /// The connection failed; `onClose` follows.
  public var onError: ((WebSocketClientError) -> Void)?
  /// The connection ended; called exactly once, last.
  public var onClose: ((CloseResult) -> Void)?
  /// The socket has nothing more to read right now: a good moment to flush output.
  public var onIdle: (() -> Void)?
  /// The request lines (credentials redacted), before they are sent (for `-v`).
  public var onRequest: (([String]) -> Void)?
  /// The response head, as received (for `-v`).
  public var onResponseHead: ((HTTPHeadParser.Head) -> Void)?
  /// The TLS session, once its handshake succeeded (for `-v`).
  public var onTLSSession: ((TLSSessionInfo) -> Void)?
  /// Each frame in and out, when `traceFrames` is set.
  public var onFrame: ((FrameTrace) -> Void)?

  public let configuration: Configuration
  private let handshake: ClientHandshake

  private enum Command {
    case message(Message.Kind, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, String)
  }

  // Shared state, guarded by `lock`.
  private let lock = ConditionLock()
  private struct Entry {
    var command: Command
    var bytes: Int
    /// Queued by a hook on the I/O thread (an echo reply): such bytes pause reading when
    /// they pile up, so a peer that sends without reading cannot grow them without bound.
    var fromIOThread: Bool
  }

  private var queue: [Entry] = []
  /// Bytes of `queue` entries queued from the I/O thread.
  private var replyBytes = 0
  private var queueHead = 0
  private var queuedBytes = 0
  private var acceptingCommands = true
  private var wakePending = false
  private var aborted = false
  private var ioThread: pthread_t?
  private var finalResult: CloseResult?

  /// A self-pipe: other threads write a byte to wake the I/O thread from `poll()`.
  private let wakeFD: Int32
  private let wakeWriteFD: Int32

  /// Builds the request now, so header and URL errors surface before any I/O.
  public init(configuration: Configuration) throws(ClientHandshake.RequestError) {
    self.configuration = configuration
    self.handshake = try ClientHandshake(options: configuration.handshake)
    var fds: [Int32] = [-1, -1]
    // Without the pipe (EMFILE) `connect()` reports a local error instead of starting.
    if pipe(&fds) != 0 { fds = [-1, -1] }
    for fd in fds where fd >= 0 {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    self.wakeFD = fds[0]
    self.wakeWriteFD = fds[1]
  }

  deinit {
    _ = Glibc.close(wakeFD)
    _ = Glibc.close(wakeWriteFD)
  }

  /// The result once the connection has ended.
  public var result: CloseResult? { lock.withLock { finalResult } }

  /// Starts the I/O thread, which connects and runs the connection.
  public func connect() {
    if wakeFD < 0 {
      let result = CloseResult(error: .local("cannot create a pipe: \(errnoText(errno))"), wasOpen: false)
      lock.withLock {
        finalResult = result
        acceptingCommands = false
      }
      onError?(result.error!)
      onClose?(result)
      return
    }
    startThread { [self] in
      lock.withLock { ioThread = pthread_self() }
      let result = run()
      lock.withLock {
        finalResult = result
        acceptingCommands = false
        lock.broadcast()
      }
      onClose?(result)
    }
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
        && queuedBytes + bytes > configuration.sendQueueLimit
      {
        lock.wait()
      }
      guard acceptingCommands else { return false }
      queue.append(Entry(command: command, bytes: bytes, fromIOThread: onIOThread))
      queuedBytes += bytes
      if onIOThread { replyBytes += bytes }
      wakeLocked()
      return true
    }
  }

  private func wakeLocked() {
    guard !wakePending else { return }
    wakePending = true
    var one: UInt8 = 1
    _ = Glibc.write(wakeWriteFD, &one, 1)
  }

  // MARK: The I/O thread

  private func run() -> CloseResult {
    var result = CloseResult(received: nil, sent: nil, initiatedLocally: false, error: nil, wasOpen: false)
    let deadline = MonotonicClock.now() + configuration.connectTimeout
    let uri = configuration.handshake.uri
    let fd: Int32
    do throws(SocketConnector.Failure) {
      if let path = uri.unixSocketPath {
        fd = try SocketConnector.connectUnix(path: path, deadline: deadline)
      } else {
        fd = try SocketConnector.connect(
          host: uri.host, port: uri.port, deadline: deadline, cancelled: { lock.withLock { aborted } })
      }
    } catch {
      result.error = error.timedOut ? .timeout(error.message) : .connectFailed(error.message)
      onError?(result.error!)
      return result
    }
    let transport: Transport
    if uri.secure {
      // RFC 6455 §4.1 step 5: TLS first; no HTTP byte goes out before verification succeeds.
      let tls: TLSTransport
      do throws(WebSocketClientError) {
        tls = try TLSTransport(
          fileDescriptor: fd, host: uri.host, isIPLiteral: uri.isIPv6Literal || Self.isIPv4(uri.host),
          options: configuration.tls)
      } catch {
        _ = Glibc.close(fd)
        result.error = error
        onError?(error)
        return result
      }
      if let error = tls.handshake(wait: { write in waitFor(tls, write: write, deadline: deadline) }) {
        tls.close()
        result.error = error
        onError?(error)
        return result
      }
      onTLSSession?(tls.sessionInfo)
      transport = tls
    } else {
      transport = SocketTransport(fileDescriptor: fd)
    }
    defer { transport.close() }

    let opened: (ClientHandshake.Response, [UInt8])
    switch openingHandshake(transport, deadline: deadline) {
    case .success(let r): opened = r
    case .failure(let error):
      result.error = error
      onError?(error)
      return result
    }
    result.wasOpen = true
    onOpen?(opened.0)
    // The extension the server accepted (permessage-deflate), with a fresh codec.
    var connection = WebSocketConnection(
      role: .client,
      configuration: .init(
        maxMessageSize: configuration.maxMessageSize, traceFrames: configuration.traceFrames),
      extension: opened.0.negotiated.first?.makeExtension(role: .client))
    return runOpen(&connection, transport, leftover: opened.1, result: result)
  }

  private func openingHandshake(
    _ transport: Transport, deadline: Double
  ) -> Result<(ClientHandshake.Response, [UInt8]), WebSocketClientError> {
    var hs = handshake
    onRequest?(hs.requestLines(redactingCredentials: true))
    let request = hs.requestBytes()
    var written = 0
    while written < request.count {
      let r = request.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[written...])) }
      switch r {
      case .done(let n): written += n
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(transport, write: wantsWrite, deadline: deadline) { return .failure(e) }
      case .eof, .failed: return .failure(.handshake(.connectionClosedWhileSending))
      }
    }
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
      let r = buffer.withUnsafeMutableBytes { transport.read($0) }
      switch r {
      case .done(let n):
        var outcome: Result<(ClientHandshake.Response, Int)?, ClientHandshake.ResponseError> = .success(nil)
        buffer.withUnsafeBytes { raw in
          do throws(ClientHandshake.ResponseError) {
            outcome = .success(try hs.receive(UnsafeRawBufferPointer(rebasing: raw[..<n])))
          } catch {
            outcome = .failure(error)
          }
        }
        switch outcome {
        case .success(let accepted?):
          onResponseHead?(accepted.0.head)
          return .success((accepted.0, Array(buffer[accepted.1..<n])))
        case .success(nil): break
        case .failure(let error):
          if case .unexpectedStatus(_, _, let head) = error { onResponseHead?(head) }
          return .failure(.handshake(error))
        }
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(transport, write: wantsWrite, deadline: deadline) { return .failure(e) }
      // A reset before the response is complete is a failed handshake (F7), not a lost
      // WebSocket; a TLS alert here (TLS 1.3 asks for client certificates after its
      // handshake) is a TLS failure.
      case .eof: return .failure(.handshake(hs.receiveEOF()))
      case .failed(let s):
        return .failure(transport is TLSTransport ? .tls(s) : .handshake(hs.receiveEOF()))
      }
    }
  }

  /// Polls until `transport` is ready, the deadline passes (timeout) or `abort()` is called.
  private func waitFor(_ transport: Transport, write: Bool, deadline: Double) -> WebSocketClientError? {
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

  /// Dotted-quad IPv4 literal (no SNI, and the certificate is checked for an IP SAN).
  static func isIPv4(_ host: String) -> Bool {
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
      && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isNumber) && Int(p)! <= 255 }
  }

  private func drainWake() {
    var sink = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    _ = withUnsafeMutableBytes(of: &sink) { Glibc.read(wakeFD, $0.baseAddress, $0.count) }
    lock.withLock { wakePending = false }
  }

  /// The open connection: move commands into the protocol, write, read, deliver events,
  /// and run the closing handshake with its timeouts.
  private func runOpen(
    _ connection: inout WebSocketConnection, _ transport: Transport, leftover: [UInt8],
    result initial: CloseResult
  ) -> CloseResult {
    var result = initial
    let highWater = 1 << 20
    var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    var closeDeadline: Double? = nil  // waiting for the server's Close
    var lingerDeadline: Double? = nil  // closing handshake done or failed: waiting for TCP to end
    var transportError: WebSocketClientError? = nil
    var sawEOF = false
    var readWantsWrite = false  // TLS: SSL_read needs the socket writable first

    func deliver(_ connection: inout WebSocketConnection) {
      guard connection.hasEvents else { return }
      for event in connection.takeEvents() {
        switch event {
        case .message(let m): onMessage?(m)
        case .ping(let p): onPing?(p)
        case .pong(let p): onPong?(p)
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
      receive(&connection, leftover, count: leftover.count, deliver: deliver)
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
          if connection.receivedClose == nil { closeDeadline = now + configuration.closeTimeout }
        }
        deliver(&connection)
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
        case .eof: transportError = .connectionLost("the server closed the connection")
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
        if connection.state == .failed && connection.outgoingCount == 0 { break }
        if now >= lingerDeadline! { break }
      }
      if let d = closeDeadline, connection.receivedClose == nil, connection.state != .failed, now >= d {
        result.error = .timeout(
          "waiting for the server's Close (--close-timeout \(formatSeconds(configuration.closeTimeout)))")
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
      for d in [closeDeadline, lingerDeadline].compactMap({ $0 }) {
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
      let retryRead = readWantsWrite && revents & Int16(POLLOUT) != 0
      readWantsWrite = false
      if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 || (reading && transport.hasBufferedInput)
        || retryRead
      {
        // Read until the socket is empty, then let the application flush.
        var reads = 0
        readLoop: while reads < 64 {
          reads += 1
          let r = readBuffer.withUnsafeMutableBytes { transport.read($0) }
          switch r {
          case .done(let n):
            receive(&connection, readBuffer, count: n, deliver: deliver)
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
                  ? "the server closed the TCP connection without a Close frame"
                  : "the server closed the TCP connection without answering our Close")
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

  /// Feeds `count` bytes of `buffer`, delivering the events of each message before the
  /// next is parsed, and encoding replies the hooks queued in between, so an answer to a
  /// message precedes the Close of a protocol error that follows it.
  private func receive(
    _ connection: inout WebSocketConnection, _ buffer: [UInt8], count: Int,
    deliver: (inout WebSocketConnection) -> Void
  ) {
    buffer.withUnsafeBytes { raw in
      var index = 0
      while true {
        index += connection.receiveSome(UnsafeRawBufferPointer(rebasing: raw[index..<count]))
        let hadEvents = connection.hasEvents
        deliver(&connection)
        if pendingReplyBytes > 0 && connection.state == .open {
          pullCommands(&connection, limit: Int.max)
          deliver(&connection)
        }
        if !hadEvents { break }
      }
    }
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
      clearQueueLocked()
      lock.broadcast()
    }
  }
}

func formatSeconds(_ s: Double) -> String {
  s == s.rounded() ? String(Int(s)) : String(s)
}
