import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Listen mode (`wsc -l [host:]port`, DESIGN.md §4): a `WebSocketServer` whose input
/// (piped lines or the interactive prompt) is broadcast to every connected client, whose
/// clients' messages are printed (tagged `[N]` once two were connected at once), with
/// connects and disconnects reported on stderr or above the prompt. The end of stdin ends
/// nothing: the server runs until interrupted, or with `--once` until its first client leaves.
final class ListenSession: @unchecked Sendable {
  private let settings: ListenSettings
  private let server: WebSocketServer
  private let output: OutputWriter
  private var display: Display?

  private let state = ConditionLock()
  private var openCount = 0
  /// Set for good once two clients were connected at the same time (or from the start
  /// with --tag): from then on every message is tagged, so a client's lines do not
  /// change form when another one comes and goes (issue 20).
  private var tagging: Bool
  private var finished: Int32?

  init(settings: ListenSettings) {
    self.settings = settings
    tagging = settings.tagAll
    server = WebSocketServer(configuration: settings.server)
    var format = OutputWriter.Format()
    format.separator = settings.outputSeparator
    format.base64Binary = settings.base64
    format.terminal = Terminal.isTTY(1)
    output = OutputWriter(format: format)
  }

  func run() -> Int32 {
    Stamp.origin = MonotonicClock.now()
    let interactive =
      Terminal.isTTY(0) && Terminal.isTTY(1) && !settings.echo && !settings.jsonl && !settings.jsonlInput
    if interactive { display = Display(colored: settings.prompt.colored) }
    Signals.install(
      onSignal: { [self] signal in interrupted(signal) },
      onWindowChange: { [self] in display?.post(event: .resize) })
    server.onConnection = { [self] connection in installHooks(connection) }
    server.onAcceptPaused = { [self] reason, live in
      note(
        "cannot accept new clients: \(reason) (serving \(live) client\(live == 1 ? "" : "s"); "
          + "new ones wait until descriptors are freed)")
    }
    server.onRefused = { [self] remote, reason in note("refused a client from \(remote): \(reason)") }
    server.onAcceptResumed = { [self] seconds in
      note("accepting new clients again after \(Int((seconds * 1000).rounded())) ms")
    }
    do {
      try server.start()
    } catch {
      Terminal.error(error.description)
      return error.isTLS ? ExitStatus.tls : ExitStatus.connect
    }
    let host = server.boundHost.contains(":") ? "[\(server.boundHost)]" : server.boundHost
    let scheme = settings.server.tls == nil ? "ws" : "wss"
    note(
      "listening on \(scheme)://\(host):\(server.boundPort)/"
        + (interactive ? " (Ctrl-D or Ctrl-C to stop)" : ""))
    if let display { return runInteractive(display) }
    if !settings.echo {
      // stdin on its own thread, so --once can end the session while a read is pending.
      if let failure = startThread({ [self] in readInput() }) {
        Terminal.error(failure)
        return ExitStatus.localIO
      }
    }
    let status = state.withLock {
      while finished == nil { state.wait() }
      return finished!
    }
    shutDown(code: CloseCode.goingAway)
    return status
  }

  // MARK: Connections

  private func installHooks(_ c: WebSocketServer.Connection) {
    let verbose = settings.verbose
    let subprotocols = settings.server.handshake.subprotocols
    c.onRejected = { [self] error in
      note("refused a request from \(c.remoteAddress): \(error.status) \(Terminal.escape(error.description))")
    }
    c.onIdle = { [self] in
      if !output.flush() { stdoutFailed() }
    }
    if settings.jsonl { return installEventHooks(c) }
    c.onOpen = { [self] accepted in
      state.withLock {
        openCount += 1
        if openCount > 1 { tagging = true }
      }
      note(
        "client \(c.id) connected from \(c.remoteAddress) (\(Terminal.escape(accepted.target)))"
          + (accepted.subprotocol.map { ", subprotocol \(Terminal.escape($0))" } ?? ""))
      if accepted.subprotocol == nil && !accepted.offeredSubprotocols.isEmpty {
        note(Self.unacceptedSubprotocols(client: c.id, accepted.offeredSubprotocols, accepting: subprotocols))
      }
      if verbose {
        let lines =
          Trace.received(accepted.head) + Trace.sent(accepted.responseLines)
          + accepted.negotiated.map { "\(Trace.prefix)\($0)" }
        for line in lines { trace("[\(c.id)] \(line)") }
      }
      for message in settings.execute { c.send(.text, Array(message.utf8)) }
    }
    if settings.echo {
      c.onMessage = { message in c.send(message.kind, message.data) }
    } else {
      c.onMessage = { [self] message in
        let tag = state.withLock { tagging } ? "[\(c.id)] " : ""
        let prefix = Stamp.prefix() + tag
        if let display {
          let lines = message.kind == .text ? settings.jsonDisplay?.lines(message.data) : nil
          for line in lines ?? [display.formatMessage(message)] { display.post(prefix + line) }
        } else if message.kind == .text, let lines = settings.jsonDisplay?.lines(message.data) {
          for line in lines where !output.writeLine(prefix + line) { stdoutFailed() }
        } else if !output.write(message, prefix: prefix) {
          stdoutFailed()
        }
      }
    }
    if settings.showPingPong {
      c.onPing = { [self] data in
        note("[\(c.id)] received ping (\(data.count) bytes): \(Terminal.escape(data))")
      }
      c.onPong = { [self] data in
        note("[\(c.id)] received pong (\(data.count) bytes): \(Terminal.escape(data))")
      }
    }
    if verbose {
      c.onFrame = { [self] frame in trace("[\(c.id)] " + Session.describe(frame)) }
    }
    // A failed TLS handshake is the one failure before the upgrade a user must see without
    // -v: a browser that rejected the certificate, a client without the CA, plain HTTP on
    // the wss:// port. Clients that connect and leave (port checks) are only shown with -v.
    c.onError = { [self] error in
      guard c.id == 0, !noteTLSFailure(c, error), verbose else { return }
      note("connection from \(c.remoteAddress): \(Terminal.escape(error.description))")
    }
    c.onClose = { [self] result in
      guard result.wasOpen else { return }
      state.withLock { openCount -= 1 }
      note("client \(c.id) disconnected (\(Self.describe(result)))")
      if settings.once { finish(Self.exitCode(result)) }
    }
  }

  /// Why a client that offered subprotocols got none: most clients (browsers, Node `ws`)
  /// then fail the connection, and without this line the log shows only a 1006.
  static func unacceptedSubprotocols(client: Int, _ offered: [String], accepting: [String]) -> String {
    let list = offered.map(Terminal.escape).joined(separator: ", ")
    let why =
      accepting.isEmpty
      ? "--no-subprotocol accepts none" : "-s accepts only \(accepting.joined(separator: ", "))"
    return "client \(client) offered subprotocol\(offered.count == 1 ? "" : "s") \(list); none accepted "
      + "(\(why)), so the client may fail the connection"
  }

  /// Says that a TLS handshake failed, and returns true, when `error` is that.
  private func noteTLSFailure(_ c: WebSocketServer.Connection, _ error: WebSocketClientError) -> Bool {
    guard case .tls(let reason) = error else { return false }
    note("TLS handshake with \(c.remoteAddress) failed: \(Terminal.escape(reason))")
    return true
  }

  /// --jsonl: the client's events on stdout, each with `client`; connects and disconnects
  /// are events too, so stderr keeps only the diagnostics.
  private func installEventHooks(_ c: WebSocketServer.Connection) {
    let host = server.boundHost.contains(":") ? "[\(server.boundHost)]" : server.boundHost
    let scheme = settings.server.tls == nil ? "ws" : "wss"
    c.onOpen = { [self] accepted in
      state.withLock { openCount += 1 }
      EventLog(output: output, client: c.id).open(
        url: "\(scheme)://\(host):\(server.boundPort)\(accepted.target)", status: 101,
        subprotocol: accepted.subprotocol, extensions: accepted.negotiated.map { "\($0)" },
        headers: accepted.head.headers.map { ($0.name, $0.value) }, handshakeSeconds: nil)
      for message in settings.execute { c.send(.text, Array(message.utf8)) }
    }
    c.onMessageData = { [self] kind, data in
      if settings.echo { c.send(kind, Array(data)) }
      if !EventLog(output: output, client: c.id).message(kind, data) { stdoutFailed() }
    }
    c.onPing = { [self] data in EventLog(output: output, client: c.id).control("ping", data) }
    c.onPong = { [self] data in EventLog(output: output, client: c.id).control("pong", data) }
    c.onError = { [self] error in
      if c.id == 0 { _ = noteTLSFailure(c, error) }
    }
    c.onClose = { [self] result in
      guard result.wasOpen else { return }
      state.withLock { openCount -= 1 }
      EventLog(output: output, client: c.id).close(result, peer: "client")
      if !output.flush() { stdoutFailed() }
      if settings.once { finish(Self.exitCode(result)) }
    }
  }

  /// "code 1000", "code 4000, reason \"bye\"", "code 1006: connection lost: …".
  static func describe(_ result: CloseResult) -> String {
    var text = "code \(result.code)"
    if let reason = result.received?.reason, !reason.isEmpty {
      text += ", reason \"\(Terminal.escape(reason))\""
    }
    if let error = result.error { text += ": \(Terminal.escape(error.description))" }
    return text
  }

  /// The exit code for `--once`, from the first client's close (DESIGN.md §5, as a client would).
  static func exitCode(_ result: CloseResult) -> Int32 {
    if let error = result.error {
      switch error {
      case .protocolViolation: return ExitStatus.protocolViolation
      case .timeout: return ExitStatus.timeout
      case .local: return ExitStatus.localIO
      case .tls: return ExitStatus.tls
      default: return ExitStatus.connectionLost
      }
    }
    guard let received = result.received, !result.initiatedLocally else { return ExitStatus.ok }
    switch received.code {
    case nil, CloseCode.normalClosure, CloseCode.goingAway: return ExitStatus.ok
    default: return ExitStatus.peerClosed
    }
  }

  private func finish(_ status: Int32) {
    let first = state.withLock {
      guard finished == nil else { return false }
      finished = status
      state.broadcast()
      return true
    }
    if first { display?.markEnded() }
  }

  private func note(_ text: String) {
    if let display {
      display.post(text, fd: 2)
    } else {
      Terminal.writeStderr(text + "\n")
    }
  }

  /// A `-v` line, dimmed above the prompt like the client's.
  private func trace(_ text: String) {
    if let display {
      display.postTrace(text)
    } else {
      Terminal.writeStderr(text + "\n")
    }
  }

  private func stdoutFailed() {
    // EPIPE: whoever read our output is gone; stop serving (exit 0, or 10 for other errors).
    finish(output.currentFailure == .brokenPipe ? ExitStatus.ok : ExitStatus.localIO)
  }

  /// Closes every client (best effort, bounded by the close timeout) and flushes output.
  private func shutDown(code: UInt16) {
    server.closeAll(code: code, discardQueued: true)
    server.stop(timeout: settings.server.closeTimeout + 0.5)
    output.flush()
    if case .error(let message)? = output.currentFailure { Terminal.error(message) }
  }

  private func interrupted(_ signal: Int32) {
    if let display {
      display.post(event: .interrupt(signal))
      return
    }
    shutDown(code: CloseCode.goingAway)
    Session.exit(128 + signal)
  }

  // MARK: Input

  /// Broadcasts each stdin message; at EOF the server keeps running.
  private func readInput() {
    if settings.jsonlInput { return readCommands() }
    let kind = settings.inputKind
    var reader = InputReader(separator: settings.separator, maxSize: settings.server.maxMessageSize)
    var lineNumber = 0
    var warnedNoClient = false
    // The lines of one read go to each client as one batch: one lock and one wake-up per
    // client and read, not per line (with thousands of clients, per line was most of the
    // broadcast's time).
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
          "input message \(lineNumber) is larger than --max-message-size (\(settings.server.maxMessageSize) bytes); not sent"
        )
      },
      onChunkEnd: { [self] in
        defer { batch = MessageBatch() }
        guard !batch.isEmpty else { return true }
        guard server.broadcast(kind, batch: batch) > 0 else {
          if !warnedNoClient { Terminal.error("no client is connected; input is dropped until one is") }
          warnedNoClient = true
          return true
        }
        warnedNoClient = false
        return true
      })
    if case .failed(let message) = outcome { Terminal.error(message) }
  }

  /// --jsonl-input in listen mode: each command goes to every connected client.
  private func readCommands() {
    let outcome = readJSONCommands(separator: settings.separator, maxSize: settings.server.maxMessageSize) {
      [self] command in
      switch command {
      case .message(let kind, let data): server.broadcast(kind, data)
      case .ping(let data): server.broadcastPing(data)
      case .pong(let data): for c in server.openConnections { c.pong(data) }
      case .close(let code, let reason): server.closeAll(code: code, reason: reason)
      case .sleep(let seconds): usleep(UInt32(min(seconds, 3600) * 1_000_000))
      }
      return true
    }
    if case .failed(let message) = outcome { Terminal.error(message) }
  }

  // MARK: Interactive

  private func runInteractive(_ display: Display) -> Int32 {
    TerminalState.save()
    let history = PromptHistory(path: settings.prompt.noHistory ? nil : PromptHistory.defaultPath())
    guard let prompt = Prompt(display: display, history: history) else {
      Terminal.error("cannot start the line editor on this terminal")
      return ExitStatus.localIO
    }
    var status: Int32 = ExitStatus.ok
    var closeCode = CloseCode.goingAway
    loop: while true {
      switch prompt.readLine() {
      case .line(let text):
        history?.add(text)
        if !perform(PromptInput.parse(text)) { break loop }
      case .endOfInput:
        break loop
      case .interrupted(let signal):
        status = 128 + signal
        break loop
      case .connectionEnded:
        status = state.withLock { finished } ?? ExitStatus.ok
        break loop
      }
    }
    prompt.end()
    if status == ExitStatus.ok && state.withLock({ finished }) == nil { closeCode = CloseCode.normalClosure }
    shutDown(code: closeCode)
    Display.write(display.take().lines)
    return status
  }

  /// Acts on one typed line; false ends the session (/quit).
  private func perform(_ input: PromptInput) -> Bool {
    let clients = server.openConnections
    switch input {
    case .text(let text):
      guard !clients.isEmpty else { return noClient() }
      server.broadcast(.text, Array(text.utf8))
    case .binary(let data):
      guard !clients.isEmpty else { return noClient() }
      server.broadcast(.binary, data)
    case .ping(let data):
      guard !clients.isEmpty else { return noClient() }
      server.broadcastPing(data)
    case .pong(let data):
      for c in clients { c.pong(data) }
    case .close(let code, let reason):
      guard !clients.isEmpty else { return noClient() }
      server.closeAll(code: code, reason: reason)
    case .help:
      let help =
        PromptInput.helpText
        + "\nIn listen mode every command goes to all connected clients; /close closes them all."
      Display.write(help.split(separator: "\n").map { Display.Line(fd: 1, text: String($0)) })
    case .quit: return false
    case .invalid(let problem): Terminal.error(problem)
    }
    return true
  }

  private func noClient() -> Bool {
    Terminal.error("no client is connected; nothing sent")
    return true
  }
}
