import Synchronization
import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Exit codes (DESIGN.md §5).
enum ExitStatus {
  static let ok: Int32 = 0
  static let peerClosed: Int32 = 1
  static let connect: Int32 = 3
  static let proxy: Int32 = 4
  static let tls: Int32 = 5
  static let handshake: Int32 = 6
  static let protocolViolation: Int32 = 7
  static let connectionLost: Int32 = 8
  static let timeout: Int32 = 9
  static let localIO: Int32 = 10
  static let usage: Int32 = 64
}

/// One run of the client in pipe, one-shot or echo mode: wires stdin and stdout to a
/// `WebSocketClient` and turns how the connection ended into an exit code.
final class Session: @unchecked Sendable {
  let settings: Settings
  let output: OutputWriter
  /// The first attempt's client; `link` makes the next ones.
  private let firstClient: WebSocketClient
  /// The connection, across reconnects; set by `run`.
  private(set) var link: Link!

  /// Incoming-message activity, for the end-of-input wait (`-w`, `--count`).
  private let activity = ConditionLock()
  private var lastActivity = MonotonicClock.now()
  /// Counted by the I/O thread without the lock (a message flood costs no lock per
  /// message); the main thread reads them when it wakes, and is woken only when the
  /// count reaches `--count`.
  private let messagesReceived = Atomic<Int>(0)
  /// `MonotonicClock.now()` of the latest message, as its bit pattern: within a burst
  /// of messages read without a pause, of one of its last 256 (see `stampedCount`).
  private let lastMessageTime = Atomic<UInt64>(0)
  /// `messagesReceived` when `lastMessageTime` was last set. The clock is read once per
  /// 256 messages and when the socket has nothing more to read, not per message: a
  /// clock read costs 21 ns here, a fifth of receiving a 64-byte message (B2, issue 17).
  /// Only the I/O thread touches it.
  private let stampedCount = Atomic<Int>(0)
  private var ended = false
  private var opened = false
  /// A connection opened at least once (with --reconnect `opened` drops between attempts).
  private var everOpened = false
  /// The `--count` deadline (`-w S`) passed before N messages arrived (exit 9).
  private var countTimedOut = false
  private var localError: String?
  /// Fired when the connection ends, to end a stdin read still waiting for input
  /// (DESIGN.md §4 "the connection ends first").
  private let stopInput = StopPipe()
  /// --jsonl: where the events go; nil for the human formats.
  private let events: EventLog?
  /// --log FILE, once opened; `logError` when it could not be.
  private let log: SessionLog?
  private let logError: String?
  private var connectStarted = MonotonicClock.now()
  /// Pings sent by --jsonl-input, by payload, for the RTT of their Pongs.
  private let pingsSent = ConditionLock()
  private var pingTimes: [[UInt8]: Double] = [:]
  /// --reconnect: the attempt under way (stderr says when it opened).
  private let reconnectAttempt = Atomic<Int>(0)

  /// Set by the interactive prompt: takes over the first SIGINT/SIGTERM/SIGHUP (returns
  /// true when it did) and terminal resizes.
  /// Set on the main thread while the signal thread may already read them: behind a lock,
  /// which also publishes what the closures capture (ThreadSanitizer found the race).
  var onInterrupt: ((Int32) -> Bool)? {
    get { signalHookLock.withLock { interruptHook } }
    set { signalHookLock.withLock { interruptHook = newValue } }
  }
  var onWindowChange: (() -> Void)? {
    get { signalHookLock.withLock { windowChangeHook } }
    set { signalHookLock.withLock { windowChangeHook = newValue } }
  }
  private let signalHookLock = ConditionLock()
  private var interruptHook: ((Int32) -> Bool)?
  private var windowChangeHook: (() -> Void)?

  init(settings: Settings) throws {
    self.settings = settings
    var format = OutputWriter.Format()
    format.separator = settings.outputSeparator
    format.base64Binary = settings.base64
    format.terminal = Terminal.isTTY(1)
    output = OutputWriter(format: format)
    events = settings.jsonl ? EventLog(output: output) : nil
    firstClient = try WebSocketClient(configuration: settings.client)
    switch settings.logPath.map({ SessionLog.open($0, url: settings.client.handshake.uri.description) }) {
    case .success(let l)?: (log, logError) = (l, nil)
    case .failure(let e)?: (log, logError) = (nil, e.message)
    case nil: (log, logError) = (nil, nil)
    }
  }

  /// The link for this session: `prepare` sets each client's hooks, `ended` hears how
  /// each connection ended and whether another attempt follows.
  func makeLink(
    prepare: @escaping (WebSocketClient) -> Void, ended: @escaping (CloseResult, Link.Next) -> Void
  ) -> Link {
    // -b applies to the -x preamble as to stdin (issue 20): one flag, one message type.
    let kind = settings.inputKind
    let log = self.log
    let link = Link(
      client: firstClient, policy: settings.reconnect,
      preamble: settings.execute.map { (kind, Array($0.utf8)) },
      prepare: { c in
        prepare(c)
        log?.attach(to: c)
      },
      ended: { result, next in
        log?.ended(result, next)
        ended(result, next)
      })
    self.link = link
    return link
  }

  func run() -> Int32 {
    if let logError {
      Terminal.error(logError)
      return ExitStatus.localIO
    }
    Signals.install(session: self)
    if Self.isInteractive(settings) { return InteractiveMode(session: self).run() }
    let link = makeLink(
      prepare: { [self] in installHooks($0) }, ended: { [self] in connectionEnded($0, $1) })
    connectStarted = MonotonicClock.now()
    Stamp.origin = connectStarted
    link.start()

    let stdinIsTTY = Terminal.isTTY(0)
    var interactiveEOF = false
    if settings.echo {
      // Echo mode ignores stdin and stays until the server closes.
      _ = link.waitForEnd()
    } else if !stdinIsTTY || settings.execute.isEmpty || settings.wait < 0 {
      if stdinIsTTY && settings.execute.isEmpty {
        Terminal.error("reading messages from the terminal; Ctrl-D closes")
      }
      readInput()
      interactiveEOF = stdinIsTTY && settings.execute.isEmpty
    }
    if !settings.echo {
      endOfInput(wait: interactiveEOF ? 0 : settings.wait)
    }
    let result = link.waitForEnd()
    // The --jsonl close event is written by the hook; it must be out before the exit.
    activity.withLock { while !ended { activity.wait() } }
    output.flush()
    reportUnsent()
    return exitCode(result)
  }

  /// DESIGN.md §4: the prompt when stdin and stdout are terminals, unless `-x` makes this a
  /// one-shot run (with `-w -1` the prompt follows the preamble). Echo mode ignores stdin.
  static func isInteractive(_ settings: Settings) -> Bool {
    Terminal.isTTY(0) && Terminal.isTTY(1) && !settings.echo && !settings.jsonl && !settings.jsonlInput
      && (settings.execute.isEmpty || settings.wait < 0)
  }

  /// Sets the hooks of one attempt's client (all but `onClose`: `connectionEnded`).
  private func installHooks(_ client: WebSocketClient) {
    connectStarted = MonotonicClock.now()
    let echo = settings.echo
    let verbose = settings.verbose
    let countTarget = settings.count ?? 0
    client.onOpen = { [self] response in
      // -v: the agreed extension parameters, e.g. "* permessage-deflate: client_max_window_bits=15".
      if verbose { for e in response.negotiated { Terminal.writeStderr("\(Trace.prefix)\(e)\n") } }
      events?.open(
        response, url: settings.client.handshake.uri.description,
        handshakeSeconds: MonotonicClock.now() - connectStarted)
      let attempt = reconnectAttempt.exchange(0, ordering: .relaxed)
      if attempt > 0 && events == nil {
        Terminal.error("reconnected to \(settings.client.handshake.uri.description) (attempt \(attempt))")
      }
      activity.withLock {
        opened = true
        everOpened = true
        lastActivity = MonotonicClock.now()
        activity.broadcast()
      }
    }
    client.onMessageData = { [self] kind, data in
      // Only the I/O thread writes the count (one connection at a time), so a load and a
      // store do: an atomic add locks the bus once per message.
      let count = messagesReceived.load(ordering: .relaxed) + 1
      messagesReceived.store(count, ordering: .relaxed)
      // --count N: exactly N messages are printed (issue 20); what follows the Nth, already
      // on its way before our Close, is read and dropped.
      if countTarget > 0 && count > countTarget { return }
      if echo { client.send(kind, Array(data)) }
      if let events {
        if !events.message(kind, data) { stdoutFailed() }
      } else if !echo, kind == .text, let lines = settings.jsonDisplay?.lines(data) {
        let stamp = Stamp.prefix()
        for line in lines where !output.writeLine(stamp + line) { stdoutFailed() }
      } else if !echo {
        // Without --timestamps, the writer's one-lock path for a plain message.
        let prefix = Stamp.mode == .off ? nil : Stamp.prefix()
        let written = prefix.map { output.write(kind, data, prefix: $0) } ?? output.write(kind, data)
        if !written { stdoutFailed() }
      }
      if count & 255 == 0 { stampMessageTime(count) }
      if count == countTarget {
        if !output.flush() { stdoutFailed() }
        // The Nth message ends the session whether or not input has ended: the Close goes
        // after what is queued, and stdin stops when the connection ends.
        link.close(code: settings.closeCode, reason: settings.closeReason)
        // Taking the lock orders this wake-up after the main thread's check of the count.
        activity.withLock { activity.broadcast() }
      }
    }
    client.onIdle = { [self] in
      let count = messagesReceived.load(ordering: .relaxed)
      if count != stampedCount.load(ordering: .relaxed) { stampMessageTime(count) }
      if !output.flush() { stdoutFailed() }
    }
    if let events {
      client.onError = { error in events.error(error, exitCode: Self.exitStatus(for: error)) }
    }
    if let events {
      client.onPing = { data in events.control("ping", data) }
      let keepaliveRTT = Atomic<UInt64>(0)
      client.onKeepalivePong = { rtt in keepaliveRTT.store(rtt.bitPattern, ordering: .relaxed) }
      client.onPong = { [self] data in
        var sent = pingsSent.withLock { pingTimes.removeValue(forKey: data) }.map {
          MonotonicClock.now() - $0
        }
        // A keepalive Pong: its RTT was just reported by onKeepalivePong.
        let k = keepaliveRTT.exchange(0, ordering: .relaxed)
        if sent == nil && k != 0 { sent = Double(bitPattern: k) }
        events.control("pong", data, rttSeconds: sent)
      }
    } else if settings.showPingPong || settings.verbose, settings.client.keepalive != nil {
      if settings.showPingPong {
        client.onPing = { data in
          Terminal.error("received ping (\(data.count) bytes): \(Terminal.escape(data))")
        }
      }
      // -P or -v with --ping-interval: each keepalive Pong with its round-trip time (with
      // -P on the "received pong" line of that Pong).
      let pendingRTT = Atomic<UInt64>(0)
      let showPongs = settings.showPingPong
      client.onKeepalivePong = { rtt in
        if showPongs {
          pendingRTT.store(rtt.bitPattern, ordering: .relaxed)
        } else {
          Terminal.error("keepalive pong in \(InteractiveMode.milliseconds(rtt * 1000)) ms")
        }
      }
      if showPongs {
        client.onPong = { data in
          let rtt = pendingRTT.exchange(0, ordering: .relaxed)
          let suffix =
            rtt == 0
            ? "" : ", keepalive round trip \(InteractiveMode.milliseconds(Double(bitPattern: rtt) * 1000)) ms"
          Terminal.error("received pong (\(data.count) bytes): \(Terminal.escape(data))\(suffix)")
        }
      }
    } else if settings.showPingPong {
      client.onPing = { data in
        Terminal.error("received ping (\(data.count) bytes): \(Terminal.escape(data))")
      }
      client.onPong = { data in
        Terminal.error("received pong (\(data.count) bytes): \(Terminal.escape(data))")
      }
    }
    if settings.verbose {
      client.onProxyChoice = { choice in
        if let line = Trace.proxyChoice(choice) { Terminal.writeStderr(line + "\n") }
      }
      client.onRedirect = { code, next, hop in Terminal.writeStderr(Trace.redirect(code, next, hop) + "\n") }
      client.onProxyTrace = { t in for l in Trace.proxy(t) { Terminal.writeStderr(l + "\n") } }
      client.onRequest = { lines in for l in Trace.sent(lines) { Terminal.writeStderr(l + "\n") } }
      client.onResponseHead = { head in
        for l in Trace.received(head) { Terminal.writeStderr(l + "\n") }
      }
      client.onFrame = { trace in Terminal.writeStderr(Self.describe(trace) + "\n") }
      client.onTLSSession = { info in
        for line in Self.describe(info) { Terminal.writeStderr(line + "\n") }
      }
    }
  }

  /// The `-v` lines for a TLS session: version, cipher, ALPN, the server certificate.
  static func describe(_ info: TLSSessionInfo) -> [String] {
    var line = "* TLS: \(info.version), cipher \(info.cipher)"
    if let alpn = info.alpn { line += ", ALPN \(Terminal.escape(alpn))" }
    var lines = [line]
    if let subject = info.peerSubject {
      lines.append("* server certificate: subject \(Terminal.escape(subject))")
    }
    if let issuer = info.peerIssuer {
      lines.append("* server certificate: issuer \(Terminal.escape(issuer))")
    }
    return lines
  }

  /// One `-v` line (`Trace`): direction, opcode, flags, length and an escaped preview.
  static func describe(_ t: FrameTrace) -> String {
    let arrow = Trace.prefix + (t.direction == .sent ? ">" : "<")
    var flags = t.header.fin ? "fin" : "nofin"
    if t.header.rsv != 0 { flags += " rsv=\(t.header.rsv >> 4)" }
    // A compressed frame's length is not the length of its (decompressed) preview.
    let compressed = t.header.rsv & FrameHeader.rsv1 != 0
    let more =
      (compressed
        ? t.preview.count >= FrameTrace.previewLength : t.header.payloadLength > UInt64(t.preview.count))
      ? "…" : ""
    var preview: String
    if t.header.opcode == .close && t.preview.count >= 2 {
      preview =
        "code \(UInt16(t.preview[0]) << 8 | UInt16(t.preview[1])) \"\(Terminal.escape(t.preview[2...]))\(more)\""
    } else if t.header.opcode == .binary
      || (t.header.opcode == .continuation && !UTF8Validator.isValid(t.preview))
    {
      preview = Terminal.hexPreview(t.preview) + (more.isEmpty ? "" : " …")
    } else {
      preview = "\"\(Terminal.escape(t.preview))\(more)\""
    }
    if t.header.payloadLength == 0 { preview = "" }
    return "\(arrow) frame \(t.header.opcode) \(flags) len=\(t.header.payloadLength) \(preview)"
  }

  /// On the I/O thread, as each connection ends: the session ends with it unless `retry`
  /// says another attempt follows.
  private func connectionEnded(_ result: CloseResult, _ next: Link.Next) {
    if case .stopped = next {} else { events?.close(result, peer: "server") }
    switch next {
    case .retry(let retry):
      events?.reconnect(retry, after: Self.endText(result))
      if events == nil { Terminal.error(Self.reconnectText(result, retry)) }
      reconnectAttempt.store(retry.attempt, ordering: .relaxed)
      activity.withLock { opened = false }
    case .gaveUp(let n):
      Terminal.error(Link.gaveUpText(n))
    case .end, .stopped: break
    }
    if events != nil && !output.flush() { stdoutFailed() }
    if case .retry = next { return }
    activity.withLock {
      ended = true
      activity.broadcast()
    }
    stopInput.fire()
  }

  /// What stderr says before a reconnect: how the connection ended, then the wait.
  static func reconnectText(_ result: CloseResult, _ retry: Link.Retry) -> String {
    "\(endText(result)); reconnecting \(retry.waitText)"
  }

  /// How a connection ended, in one phrase.
  static func endText(_ result: CloseResult) -> String {
    if let error = result.error { return errorText(error) }
    let code = result.received?.code.map(String.init) ?? "none"
    let reason = Terminal.escape(result.received?.reason ?? [])
    return "server closed the connection: code \(code), reason \"\(reason)\""
  }

  /// Notes that messages up to the `count`th have arrived by now, for `-w`'s deadline.
  private func stampMessageTime(_ count: Int) {
    stampedCount.store(count, ordering: .relaxed)
    lastMessageTime.store(MonotonicClock.now().bitPattern, ordering: .relaxed)
  }

  private func stdoutFailed() {
    // EPIPE: the reader is gone, so say goodbye (1001) and end quietly. Other errors exit 10.
    link.close(code: CloseCode.goingAway, discardQueued: true)
  }

  /// Sends each stdin message until EOF, or until the connection ends (whether or not stdin
  /// has more: input not yet read is not sent). The messages of each read go to the
  /// connection as one batch.
  private func readInput() {
    if settings.jsonlInput { return readCommands() }
    let kind = settings.inputKind
    var reader = InputReader(
      separator: settings.separator, maxSize: settings.client.maxMessageSize, stopFD: stopInput.fd)
    var lineNumber = 0
    var batch = MessageBatch()
    let outcome = reader.run(
      message: { line in
        lineNumber += 1
        if kind == .text && !UTF8Validator.isValid(line) {
          Terminal.error("input message \(lineNumber) is not valid UTF-8; not sent (use -b to send binary)")
          return true
        }
        batch.append(line)
        return true
      },
      onOversized: { [self] size in
        lineNumber += 1
        Terminal.error(
          "input message \(lineNumber) is larger than --max-message-size (\(settings.client.maxMessageSize) bytes); not sent"
        )
      },
      onChunkEnd: { [self] in
        defer { batch = MessageBatch() }
        return link.send(kind, batch: batch)
      })
    if case .failed(let message) = outcome {
      localError = message
    }
  }

  /// --jsonl-input: each stdin line is a command (JSONCommand). A bad line is reported
  /// with its number and skipped; the session goes on. `close` ends the reading.
  private func readCommands() {
    let outcome = readJSONCommands(
      separator: settings.separator, maxSize: settings.client.maxMessageSize, stopFD: stopInput.fd
    ) { [self] command in
      switch command {
      case .message(let kind, let data): return link.send(kind, data)
      case .ping(let data):
        pingsSent.withLock { pingTimes[data] = MonotonicClock.now() }
        return link.ping(data)
      case .pong(let data): return link.pong(data)
      case .close(let code, let reason):
        link.close(code: code, reason: reason)
        return false
      case .sleep(let seconds):
        // The end of the connection cuts the sleep short.
        link.waitUntilQueueDrained()
        var pfd = pollfd(fd: stopInput.fd, events: Int16(POLLIN), revents: 0)
        let deadline = MonotonicClock.now() + seconds
        while MonotonicClock.now() < deadline {
          let ms = Int32(((deadline - MonotonicClock.now()) * 1000).rounded(.up))
          if poll(&pfd, 1, max(ms, 0)) != 0 && pfd.revents != 0 { return false }
        }
        return true
      }
    }
    if case .failed(let message) = outcome {
      localError = message
    }
  }

  /// DESIGN.md §4 "the end of input": everything queued goes out, then wait for replies
  /// until `wait` seconds pass with no incoming message, then close. With `--count` the
  /// wait is for the N messages instead (the Nth closes from the I/O thread), bounded by
  /// an explicit `-w S`.
  private func endOfInput(wait: Double) {
    link.waitUntilQueueDrained()
    activity.withLock {
      lastActivity = max(lastActivity, MonotonicClock.now())
      if let n = settings.count {
        // The deadline starts once both input has ended and the handshake completed.
        var deadline: Double? = nil
        while !ended && messagesReceived.load(ordering: .relaxed) < n {
          if opened, deadline == nil, let limit = settings.countTimeout {
            deadline = max(lastActivity, MonotonicClock.now()) + limit
          }
          if let deadline, MonotonicClock.now() >= deadline {
            countTimedOut = true
            break
          }
          activity.wait(until: deadline)
        }
        return
      }
      while !ended {
        if wait < 0 {
          activity.wait()
          continue
        }
        // Before the first handshake completes the wait has not started. Between
        // --reconnect attempts it runs on: everything queued went out, and waiting for
        // replies is no reason to keep reconnecting.
        let lastMessage = Double(bitPattern: lastMessageTime.load(ordering: .relaxed))
        let deadline = max(lastActivity, lastMessage) + wait
        if everOpened && MonotonicClock.now() >= deadline { break }
        activity.wait(until: everOpened ? deadline : nil)
      }
    }
    link.close(code: settings.closeCode, reason: settings.closeReason)
  }

  /// How a `--count N` run that got fewer than N messages ends, or nil when it got them all
  /// (or the flag is not given): never 0 (issue 19).
  private func countShortfall(_ result: CloseResult) -> Int32? {
    guard let n = settings.count else { return nil }
    let got = messagesReceived.load(ordering: .relaxed)
    guard got < n else { return nil }
    let tally = "got \(got) of \(n) message\(n == 1 ? "" : "s") (--count \(n))"
    if countTimedOut {
      Terminal.error("\(tally) in \(formatSeconds(settings.countTimeout ?? 0)) s (-w)")
      return ExitStatus.timeout
    }
    guard result.error == nil, let received = result.received, !result.initiatedLocally else { return nil }
    switch received.code {
    case nil, CloseCode.normalClosure, CloseCode.goingAway:
      Terminal.error(
        "server closed the connection (code \(received.code.map(String.init) ?? "none")) before wsc \(tally)")
      return ExitStatus.peerClosed
    default: return nil
    }
  }

  /// Nothing is lost silently: messages queued (or read) that no connection took.
  func reportUnsent() {
    let n = link.unsentMessages
    if n > 0 {
      Terminal.error("\(n) message\(n == 1 ? " was" : "s were") not sent (the connection ended first)")
    }
  }

  /// `endShown`: the prompt already printed how the open connection ended (the server's
  /// Close, or the error); say it only once.
  func exitCode(_ result: CloseResult, endShown: Bool = false) -> Int32 {
    if let failure = log?.failure {
      Terminal.error(failure)
      return ExitStatus.localIO
    }
    switch output.currentFailure {
    case .brokenPipe: return ExitStatus.ok
    case .error(let message):
      Terminal.error(message)
      return ExitStatus.localIO
    case nil: break
    }
    if let localError {
      Terminal.error(localError)
      if result.error == nil { return ExitStatus.localIO }
    }
    if let error = result.error {
      if !(endShown && result.wasOpen) { Terminal.error(Self.errorText(error)) }
      return Self.exitStatus(for: error)
    }
    if let shortfall = countShortfall(result) { return shortfall }
    guard let received = result.received else { return ExitStatus.ok }
    if result.initiatedLocally { return ExitStatus.ok }
    switch received.code {
    case nil, CloseCode.normalClosure, CloseCode.goingAway: return ExitStatus.ok
    case let code?:
      if !endShown {
        Terminal.error(
          "server closed the connection: code \(code), reason \"\(Terminal.escape(received.reason))\"")
      }
      return ExitStatus.peerClosed
    }
  }

  /// The exit code an error leads to (DESIGN.md §5).
  static func exitStatus(for error: WebSocketClientError) -> Int32 {
    switch error {
    case .connectFailed: return ExitStatus.connect
    case .proxy: return ExitStatus.proxy
    case .redirect: return ExitStatus.handshake
    case .tls: return ExitStatus.tls
    case .handshake: return ExitStatus.handshake
    case .protocolViolation: return ExitStatus.protocolViolation
    case .connectionLost: return ExitStatus.connectionLost
    case .timeout: return ExitStatus.timeout
    case .local: return ExitStatus.localIO
    }
  }

  /// What wsc says on stderr about `error`.
  static func errorText(_ error: WebSocketClientError) -> String {
    switch error {
    case .connectFailed(let s): return s
    case .proxy(let s): return "proxy error: \(s)"
    case .redirect(let s): return s
    case .tls(let s): return "TLS error: \(s)"
    case .handshake(let e): return describeHandshake(e)
    case .protocolViolation, .connectionLost, .timeout: return error.description
    case .local(let s): return s
    }
  }

  private static func describeHandshake(_ e: ClientHandshake.ResponseError) -> String {
    switch e {
    case .unexpectedStatus(let code, let reason, let head):
      var text = "server rejected the WebSocket connection: HTTP \(code) \(Terminal.escape(reason))"
      if let location = head.values("Location").first, (300..<400).contains(code) {
        text += " (redirect to \(Terminal.escape(location)), not followed: -L follows it)"
      }
      if let versions = head.values("Sec-WebSocket-Version").first, code == 426 || code == 400 {
        text += " (server supports protocol versions: \(Terminal.escape(versions)))"
      }
      return text
    default:
      return "handshake failed: " + Terminal.escape(e.description)
    }
  }

  // MARK: Interrupts

  /// First SIGINT/SIGTERM/SIGHUP: best-effort Close (1000, or 1001 for SIGTERM/SIGHUP), then
  /// exit 128+signal.
  func interrupted(signal: Int32) {
    if let onInterrupt, onInterrupt(signal) { return }
    let code = 128 + signal
    let isOpen = activity.withLock { opened && !ended }
    if isOpen {
      // Ctrl-C is the user ending the session (1000); SIGTERM and SIGHUP mean the process
      // is going away (1001, RFC 6455 §7.4.1), as a supervisor stopping it expects.
      let closeCode = signal == SIGINT ? CloseCode.normalClosure : CloseCode.goingAway
      link.close(code: closeCode, discardQueued: true)
      _ = link.wait(timeout: settings.client.closeTimeout + 0.5)
    }
    output.flush()
    Session.exit(code)
  }

  func windowChanged() { onWindowChange?() }

  /// Ends the process. After a SIGINT/SIGTERM/SIGHUP the code is 128 + that signal, whatever
  /// the caller's: an interrupted run is never reported as a success.
  static func exit(_ code: Int32) -> Never {
    TerminalState.restore()
    let signal = Signals.received.load(ordering: .sequentiallyConsistent)
    LeakCheck.run()
    Glibc._exit(signal != 0 ? 128 + signal : code)
  }
}
