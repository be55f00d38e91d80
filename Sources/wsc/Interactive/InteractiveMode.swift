import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The interactive session (stdin and stdout are terminals): the prompt loop reads, edits
/// and sends; everything the connection reports arrives through the client's hooks on the
/// I/O thread and is queued for the main thread to print above the prompt.
final class InteractiveMode: @unchecked Sendable {
  private let session: Session
  private let settings: Settings
  /// The connection (across reconnects); set by `run`.
  private var link: Link!
  private let display: Display

  /// Pings sent with /ping, oldest first, to time the round trip when the Pong arrives.
  private let pingLock = ConditionLock()
  private var pendingPings: [(data: [UInt8], sentAt: Double)] = []

  init(session: Session) {
    self.session = session
    settings = session.settings
    display = Display(colored: session.settings.prompt.colored)
  }

  func run() -> Int32 {
    TerminalState.save()
    let history = PromptHistory(path: settings.prompt.noHistory ? nil : PromptHistory.defaultPath())
    guard let prompt = Prompt(display: display, history: history) else {
      Terminal.error("cannot start the line editor on this terminal")
      return ExitStatus.localIO
    }
    session.onInterrupt = { [display] signal in
      display.post(event: .interrupt(signal))
      return true
    }
    session.onWindowChange = { [display] in display.post(event: .resize) }
    link = session.makeLink(
      prepare: { [self] in installHooks($0) }, ended: { [self] in connectionEnded($0, $1) })
    link.start()

    var interruptedBy: Int32?
    loop: while true {
      switch prompt.readLine() {
      case .line(let text):
        history?.add(text)
        if !perform(PromptInput.parse(text)) {
          link.close(code: CloseCode.normalClosure)
          break loop
        }
      case .endOfInput:
        link.close(code: settings.closeCode, reason: settings.closeReason)
        break loop
      case .interrupted(let signal):
        interruptedBy = signal
        link.close(code: CloseCode.normalClosure, discardQueued: true)
        break loop
      case .connectionEnded:
        break loop
      }
    }
    prompt.end()
    return finish(interruptedBy: interruptedBy)
  }

  /// After the prompt: keep printing until the connection has ended (bounded by the close
  /// timeout after an interrupt), then turn the outcome into an exit code.
  private func finish(interruptedBy first: Int32?) -> Int32 {
    var interruptedBy = first
    var deadline: Double?
    if first != nil { deadline = closingAfterInterrupt() }
    while link.result == nil {
      let (lines, events) = display.take()
      Display.write(lines)
      for case .interrupt(let signal) in events where interruptedBy == nil {
        interruptedBy = signal
        link.close(code: CloseCode.normalClosure, discardQueued: true)
        deadline = closingAfterInterrupt()
      }
      if let deadline, MonotonicClock.now() >= deadline { break }
      var p = pollfd(fd: display.fd, events: Int16(POLLIN), revents: 0)
      _ = poll(&p, 1, 100)
    }
    Display.write(display.take().lines)
    if let interruptedBy { return 128 + interruptedBy }
    session.reportUnsent()
    // How an open connection ended is already on the screen as "Disconnected (code: …)".
    return session.exitCode(link.waitForEnd(), endShown: true)
  }

  /// After the first Ctrl-C: says what happens while the close handshake runs (the wait
  /// may last the close timeout when the server does not answer), and returns when to stop
  /// waiting.
  private func closingAfterInterrupt() -> Double {
    if link.result == nil {
      Display.write([Display.Line(fd: 1, text: "Closing… (press CTRL+C again to exit now)")])
    }
    return MonotonicClock.now() + settings.client.closeTimeout + 0.5
  }

  /// Acts on one line; false ends the session (/quit).
  private func perform(_ input: PromptInput) -> Bool {
    var accepted = true
    switch input {
    case .text(let text): accepted = link.send(.text, Array(text.utf8))
    case .binary(let data): accepted = link.send(.binary, data)
    case .ping(let data):
      pingLock.withLock { pendingPings.append((data, MonotonicClock.now())) }
      accepted = link.ping(data)
    case .pong(let data): accepted = link.pong(data)
    case .close(let code, let reason): link.close(code: code, reason: reason)
    case .help:
      Display.write(PromptInput.helpText.split(separator: "\n").map { Display.Line(fd: 1, text: String($0)) })
    case .quit: return false
    case .invalid(let problem): Terminal.error(problem)
    }
    if !accepted { Terminal.error("the connection is closing; nothing sent") }
    return true
  }

  /// Sets the hooks of one attempt's client (all but `onClose`: `connectionEnded`).
  private func installHooks(_ client: WebSocketClient) {
    let display = self.display
    let preamble = settings.execute
    let verbose = settings.verbose
    client.onOpen = { response in
      if verbose { for e in response.negotiated { display.postTrace("\(Trace.prefix)\(e)") } }
      display.post("Connected (press CTRL+C to quit)")
      // The -x messages go out right after the handshake: show them as if typed at the
      // prompt, so the replies below them make sense (issue 20).
      for message in preamble { display.post(Prompt.text + Terminal.escape(message)) }
    }
    let jsonDisplay = settings.jsonDisplay
    client.onMessage = { message in
      let stamp = Stamp.prefix()
      if message.kind == .text, let lines = jsonDisplay?.lines(message.data) {
        let arrow = display.colored ? "\u{1B}[32m<\u{1B}[0m " : "< "
        for (i, line) in lines.enumerated() { display.post(stamp + (i == 0 ? arrow : "  ") + line) }
      } else {
        display.post(stamp + display.formatMessage(message))
      }
    }
    client.onPong = { [self] data in
      let sentAt: Double? = pingLock.withLock {
        guard let i = pendingPings.firstIndex(where: { $0.data == data }) else { return nil }
        return pendingPings.remove(at: i).sentAt
      }
      if let sentAt {
        let ms = (MonotonicClock.now() - sentAt) * 1000
        display.post("Received pong in \(Self.milliseconds(ms)) ms (data: \"\(Terminal.escape(data))\")")
      } else if settings.showPingPong {
        display.post("Received pong (data: \"\(Terminal.escape(data))\")")
      }
    }
    if settings.showPingPong {
      client.onPing = { data in display.post("Received ping (data: \"\(Terminal.escape(data))\")") }
    }
    if settings.verbose {
      client.onProxyChoice = { choice in
        if let line = Trace.proxyChoice(choice) { display.postTrace(line) }
      }
      client.onRedirect = { code, next, hop in display.postTrace(Trace.redirect(code, next, hop)) }
      client.onProxyTrace = { t in for l in Trace.proxy(t) { display.postTrace(l) } }
      client.onRequest = { lines in for l in Trace.sent(lines) { display.postTrace(l) } }
      client.onResponseHead = { head in for l in Trace.received(head) { display.postTrace(l) } }
      client.onFrame = { trace in display.postTrace(Session.describe(trace)) }
      client.onTLSSession = { info in
        for line in Session.describe(info) { display.postTrace(line) }
      }
    }
  }

  /// On the I/O thread, as each connection ends. One line for the end of an open
  /// connection: its close code, and the error if there was one (the exit code's message
  /// is then not repeated on stderr); with --reconnect, a line for the next attempt.
  private func connectionEnded(_ result: CloseResult, _ next: Link.Next) {
    if case .stopped = next {
      display.markEnded()
      return
    }
    if result.wasOpen, let error = result.error {
      display.post("Disconnected (code: \(result.code)): \(Session.errorText(error))")
    } else if result.wasOpen {
      let reason = Terminal.escape(result.received?.reason ?? [])
      display.post("Disconnected (code: \(result.code), reason: \"\(reason)\")")
    }
    switch next {
    case .retry(let retry):
      let wait = "econnecting \(retry.waitText)…"
      display.post(result.wasOpen ? "R" + wait : "\(Session.endText(result)); r" + wait)
    case .gaveUp(let n):
      display.post("G" + Link.gaveUpText(n).dropFirst())
      display.markEnded()
    case .end, .stopped:
      display.markEnded()
    }
  }

  static func milliseconds(_ ms: Double) -> String {
    let tenths = Int((ms * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }
}
