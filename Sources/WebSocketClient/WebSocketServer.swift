import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A WebSocket server (listen mode): a listener thread accepts TCP connections; each one
/// gets its own I/O thread that runs the server side of the opening handshake and then the
/// same open-connection loop as `WebSocketClient` (`WebSocketPeer`), in the server role.
///
/// Set `onConnection` before `start()`: it is called on the listener thread for each
/// accepted socket, before that connection's thread starts, so it can set the
/// connection's hooks without racing its events.
public final class WebSocketServer: @unchecked Sendable {
  public struct Configuration: Sendable {
    /// Address to bind: "127.0.0.1", "0.0.0.0", "::", "localhost"…
    public var host: String
    /// Port to bind; 0 picks a free one (see `boundPort`).
    public var port: Int
    public var handshake: ServerHandshake.Options
    /// Seconds a client has to send its complete request.
    public var handshakeTimeout: Double
    /// How long to wait for a client's Close after ours.
    public var closeTimeout: Double
    public var maxMessageSize: Int
    public var traceFrames: Bool
    /// Bytes queued per connection above which `send` (and so `broadcast`) blocks.
    public var sendQueueLimit: Int
    /// Connections beyond this many at once are closed as soon as they are accepted.
    public var maxConnections: Int
    /// TLS (wss://) with this certificate and key, when set.
    public var tls: TLSServerOptions?
    /// Keepalive Pings to every client, when set.
    public var keepalive: Keepalive?

    public init(
      host: String = "127.0.0.1", port: Int, handshake: ServerHandshake.Options = .init(),
      handshakeTimeout: Double = 10, closeTimeout: Double = 2, maxMessageSize: Int = 64 << 20,
      traceFrames: Bool = false, sendQueueLimit: Int = 4 << 20, maxConnections: Int = 512,
      tls: TLSServerOptions? = nil, keepalive: Keepalive? = nil
    ) {
      self.keepalive = keepalive
      self.host = host
      self.port = port
      self.handshake = handshake
      self.handshakeTimeout = handshakeTimeout
      self.closeTimeout = closeTimeout
      self.maxMessageSize = maxMessageSize
      self.traceFrames = traceFrames
      self.sendQueueLimit = sendQueueLimit
      self.maxConnections = maxConnections
      self.tls = tls
    }
  }

  /// Why the server could not start.
  public struct StartError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The certificate, key or TLS context could not be set up (nothing was bound yet).
    public var isTLS = false
  }

  /// One accepted connection, from the TCP accept to the end of the WebSocket.
  public final class Connection: WebSocketPeer, @unchecked Sendable {
    /// The client's address, "127.0.0.1:5555" or "[::1]:5555".
    public let remoteAddress: String
    /// 1, 2, 3… in the order the handshakes succeeded; 0 until then.
    public fileprivate(set) var id = 0

    /// The handshake succeeded (the 101 is on its way); `id` is set.
    public var onOpen: ((ServerHandshake.Accepted) -> Void)?
    /// The request head, as received (for `-v`).
    public var onRequestHead: ((HTTPHeadParser.Head) -> Void)?
    /// The request was refused with `error.status` (400 or 426); `onClose` follows.
    public var onRejected: ((ServerHandshake.RequestError) -> Void)?

    fileprivate init(remoteAddress: String, limits: Limits) {
      self.remoteAddress = remoteAddress
      super.init(limits: limits)
    }

    override func releaseHooks() {
      super.releaseHooks()
      onOpen = nil
      onRequestHead = nil
      onRejected = nil
    }
  }

  public let configuration: Configuration
  /// Called on the listener thread for each accepted socket, before its thread starts.
  public var onConnection: ((Connection) -> Void)?
  /// Called on the listener thread when it cannot accept for lack of descriptors (EMFILE,
  /// ENFILE), once per shortage, with the reason and the number of live connections. Those
  /// keep being served; new clients wait in the backlog.
  public var onAcceptPaused: ((String, Int) -> Void)?
  /// Called on the listener thread for a client closed as soon as it was accepted, with its
  /// address and why: `maxConnections` clients are connected, or no thread could be started
  /// for it.
  public var onRefused: ((String, String) -> Void)?
  /// Called when accepting works again after `onAcceptPaused`, with the seconds it was paused.
  public var onAcceptResumed: ((Double) -> Void)?

  private let lock = ConditionLock()
  private var listenFD: Int32 = -1
  private var open: [Int: Connection] = [:]
  private var live = 0
  private var nextID = 1
  private var stopping = false
  private var tlsContext: TLSServerContext?
  /// The address and port actually bound.
  public private(set) var boundHost = ""
  public private(set) var boundPort = 0

  public init(configuration: Configuration) {
    self.configuration = configuration
  }

  /// Binds and listens (errors surface here, before any thread starts), then starts accepting.
  public func start() throws(StartError) {
    if let tls = configuration.tls {
      do throws(WebSocketClientError) {
        tlsContext = try TLSServerContext(options: tls)
      } catch {
        throw StartError(description: error.description, isTLS: true)
      }
    }
    let (fd, host, port) = try Self.bind(host: configuration.host, port: configuration.port)
    listenFD = fd
    boundHost = host
    boundPort = port
    if let failure = startThread({ [self] in acceptLoop() }) {
      _ = Glibc.close(fd)
      listenFD = -1
      throw StartError(description: failure)
    }
  }

  /// The connections whose handshake succeeded and that have not ended, by id.
  public var openConnections: [Connection] {
    lock.withLock { open.keys.sorted().map { open[$0]! } }
  }

  /// Sends a message to every open connection (blocks while a connection's queue is full).
  public func broadcast(_ kind: Message.Kind, _ data: [UInt8]) {
    for c in openConnections { c.send(kind, data) }
  }

  /// Sends the messages of `batch` to every open connection, in order (blocks while a
  /// connection's queue is full); returns how many connections there were.
  @discardableResult
  public func broadcast(_ kind: Message.Kind, batch: MessageBatch) -> Int {
    let connections = openConnections
    for c in connections { c.send(kind, batch: batch) }
    return connections.count
  }

  /// Sends a Ping to every open connection.
  public func broadcastPing(_ data: [UInt8]) {
    for c in openConnections { c.ping(data) }
  }

  /// Starts the closing handshake on every open connection.
  public func closeAll(code: UInt16 = CloseCode.goingAway, reason: String = "", discardQueued: Bool = false) {
    for c in openConnections { c.close(code: code, reason: reason, discardQueued: discardQueued) }
  }

  /// Stops accepting; then waits until every connection has ended or `timeout` passes.
  /// Returns true when none is left.
  @discardableResult
  public func stop(timeout: Double) -> Bool {
    let deadline = MonotonicClock.now() + timeout
    return lock.withLock {
      stopping = true
      while live > 0 {
        if !lock.wait(until: deadline) && MonotonicClock.now() >= deadline { break }
      }
      return live == 0
    }
  }

  // MARK: Listening

  private static func bind(host: String, port: Int) throws(StartError) -> (Int32, String, Int) {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>? = nil
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0 else {
      let text = rc == EAI_SYSTEM ? errnoText(errno) : String(cString: gai_strerror(rc))
      throw StartError(description: "cannot resolve \(host): \(text)")
    }
    defer { freeaddrinfo(list) }
    var errors: [String] = []
    var node = list
    while let ai = node {
      node = ai.pointee.ai_next
      let fd = socket(
        ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
      guard fd >= 0 else {
        errors.append(errnoText(errno))
        continue
      }
      var one: Int32 = 1
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
      if Glibc.bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 && listen(fd, 128) == 0 {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let (h, p) = withUnsafeMutablePointer(to: &storage) { ptr in
          ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            getsockname(fd, sa, &len)
            return numericAddress(sa, len) ?? ("?", 0)
          }
        }
        return (fd, h, p)
      }
      errors.append(errnoText(errno))
      _ = Glibc.close(fd)
    }
    throw StartError(
      description:
        "cannot listen on \(host) port \(port): \(errors.isEmpty ? "no address" : errors.joined(separator: "; "))"
    )
  }

  private func acceptLoop() {
    // A connection needs one descriptor, its socket (its I/O thread is woken by a signal,
    // `WakeSignal`), so a shortage of descriptors makes `accept` fail and leaves the client
    // waiting in the backlog; then the loop sleeps, because the listening socket stays
    // readable and poll() alone would spin.
    var pausedSince: Double?
    var backoff = 0.05
    while true {
      if lock.withLock({ stopping }) { break }
      var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
      let r = poll(&pfd, 1, 200)
      if r <= 0 { continue }
      var storage = sockaddr_storage()
      var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let fd = withUnsafeMutablePointer(to: &storage) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
          Glibc.accept(listenFD, sa, &len)
        }
      }
      if fd < 0 {
        let error = errno
        if error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM {
          pause(&pausedSince, &backoff, reason: error)
        }
        continue
      }
      if let since = pausedSince {
        pausedSince = nil
        backoff = 0.05
        onAcceptResumed?(MonotonicClock.now() - since)
      }
      start(fd, storage, len)
    }
  }

  /// Admits an accepted socket (within `maxConnections`) and starts its connection. A
  /// socket not admitted is closed.
  private func start(_ fd: Int32, _ storage: sockaddr_storage, _ len: socklen_t) {
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var storage = storage
    let remote = withUnsafeMutablePointer(to: &storage) { ptr in
      ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { describeAddress(sa: $0, len) }
    }
    let admitted = lock.withLock { () -> Bool? in
      if stopping { return nil }
      guard live < configuration.maxConnections else { return false }
      live += 1
      return true
    }
    guard admitted == true else {
      _ = Glibc.close(fd)
      if admitted == false {
        let n = configuration.maxConnections
        onRefused?(
          remote, "\(n) client\(n == 1 ? " is" : "s are") connected, the most at once (--max-clients)")
      }
      return
    }
    var one: Int32 = 1
    if storage.ss_family == sa_family_t(AF_INET) || storage.ss_family == sa_family_t(AF_INET6) {
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
    let connection = Connection(
      remoteAddress: remote,
      limits: .init(
        role: .server, closeTimeout: configuration.closeTimeout,
        maxMessageSize: configuration.maxMessageSize,
        traceFrames: configuration.traceFrames, sendQueueLimit: configuration.sendQueueLimit,
        keepalive: configuration.keepalive))
    onConnection?(connection)
    let userClose = connection.onClose
    // `connection` is captured strongly here: the hooks are released when its I/O
    // thread ends, which breaks the cycle.
    connection.onClose = { [self] result in
      lock.withLock {
        if connection.id != 0 { open[connection.id] = nil }
        live -= 1
        lock.broadcast()
      }
      userClose?(result)
    }
    if let error = connection.startIO({ [self] in serve(connection, fd: fd) }) {
      // Out of threads (or memory for a stack): the client goes, the others stay.
      _ = Glibc.close(fd)
      onRefused?(remote, error)
    }
  }

  /// Out of descriptors: report it once per shortage, then wait a little longer each time
  /// (up to a second) so the loop neither spins nor is slow to notice freed descriptors.
  private func pause(_ pausedSince: inout Double?, _ backoff: inout Double, reason: Int32) {
    if pausedSince == nil {
      pausedSince = MonotonicClock.now()
      onAcceptPaused?(errnoText(reason), lock.withLock { live })
    }
    usleep(UInt32(backoff * 1_000_000))
    backoff = min(backoff * 2, 1)
  }

  // MARK: One connection (its I/O thread)

  private func serve(_ connection: Connection, fd: Int32) -> CloseResult {
    var result = CloseResult(wasOpen: false)
    let deadline = MonotonicClock.now() + configuration.handshakeTimeout
    let transport: Transport
    switch makeTransport(fd, connection: connection, deadline: deadline) {
    case .success(let t): transport = t
    case .failure(let error):
      result.error = error
      connection.onError?(error)
      return result
    }
    defer { transport.close() }
    let request: ServerHandshake.Accepted
    let leftover: [UInt8]
    switch readRequest(transport, connection: connection, deadline: deadline) {
    case .success(let accepted): (request, leftover) = accepted
    case .failure(let error):
      result.error = error
      return result
    }
    connection.onRequestHead?(request.head)
    lock.withLock {
      connection.id = nextID
      nextID += 1
      open[connection.id] = connection
    }
    if let e = writeAll(transport, request.responseBytes, connection: connection, deadline: deadline) {
      result.error = e
      return result
    }
    result.wasOpen = true
    connection.onOpen?(request)
    var protocolState = WebSocketConnection(
      role: .server,
      configuration: .init(
        maxMessageSize: configuration.maxMessageSize, traceFrames: configuration.traceFrames),
      extension: request.negotiated.first?.makeExtension(role: .server))
    return connection.runOpen(&protocolState, transport, leftover: leftover, result: result)
  }

  /// The accepted socket as a transport: plain, or TLS after its handshake. Closes `fd`
  /// when it fails.
  private func makeTransport(_ fd: Int32, connection: Connection, deadline: Double)
    -> Result<Transport, WebSocketClientError>
  {
    guard let tlsContext else { return .success(SocketTransport(fileDescriptor: fd)) }
    let tls: TLSTransport
    do throws(WebSocketClientError) {
      tls = try TLSTransport(acceptingOn: fd, context: tlsContext)
    } catch {
      _ = Glibc.close(fd)
      return .failure(error)
    }
    if let error = tls.accept(wait: { write in connection.waitFor(tls, write: write, deadline: deadline) }) {
      tls.close()
      return .failure(error)
    }
    return .success(tls)
  }

  /// Reads the opening request until it is accepted (with the bytes that followed it) or
  /// refused; a refused request gets its error response and a lingering close.
  private func readRequest(_ transport: Transport, connection: Connection, deadline: Double)
    -> Result<(ServerHandshake.Accepted, [UInt8]), WebSocketClientError>
  {
    var handshake = ServerHandshake(options: configuration.handshake)
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
      let r = buffer.withUnsafeMutableBytes { transport.read($0) }
      switch r {
      case .done(let n):
        var outcome: Result<(ServerHandshake.Accepted, Int)?, ServerHandshake.RequestError> = .success(nil)
        buffer.withUnsafeBytes { raw in
          do throws(ServerHandshake.RequestError) {
            outcome = .success(try handshake.receive(UnsafeRawBufferPointer(rebasing: raw[..<n])))
          } catch {
            outcome = .failure(error)
          }
        }
        switch outcome {
        case .success(let a?): return .success((a.0, Array(buffer[a.1..<n])))
        case .success(nil): break
        case .failure(let error):
          connection.onRejected?(error)
          _ = writeAll(transport, error.responseBytes, connection: connection, deadline: deadline)
          lingeringClose(transport, connection: connection, deadline: MonotonicClock.now() + 1)
          return .failure(.local("request refused (\(error.status)): \(error.description)"))
        }
      case .wouldBlock(let wantsWrite):
        if let e = connection.waitFor(transport, write: wantsWrite, deadline: deadline) { return .failure(e) }
      case .eof:
        return .failure(.connectionLost("the client closed the connection during the opening handshake"))
      case .failed(let s):
        return .failure(.connectionLost(s))
      }
    }
  }

  private func writeAll(
    _ transport: Transport, _ bytes: [UInt8], connection: Connection, deadline: Double
  ) -> WebSocketClientError? {
    var written = 0
    while written < bytes.count {
      let r = bytes.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[written...])) }
      switch r {
      case .done(let n): written += n
      case .wouldBlock(let wantsWrite):
        if let e = connection.waitFor(transport, write: wantsWrite, deadline: deadline) { return e }
      case .eof: return .connectionLost("the client closed the connection")
      case .failed(let s): return .connectionLost(s)
      }
    }
    return nil
  }

  /// Half-closes, then drops whatever the client still sends until its FIN or `deadline`,
  /// so the error response is not destroyed by a reset (unread input makes close() send RST).
  private func lingeringClose(_ transport: Transport, connection: Connection, deadline: Double) {
    transport.shutdownWrite()
    var sink = [UInt8](repeating: 0, count: 16 * 1024)
    var total = 0
    while total < 4 << 20 {
      let r = sink.withUnsafeMutableBytes { transport.read($0) }
      switch r {
      case .done(let n): total += n
      case .wouldBlock(let wantsWrite):
        if connection.waitFor(transport, write: wantsWrite, deadline: deadline) != nil { return }
      case .eof, .failed: return
      }
    }
  }
}
