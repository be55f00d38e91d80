import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--log FILE`: the whole session written to a file as it happens, in the `--jsonl`
/// event format (Docs/Events.md) plus `request`, `response` and `frame` events, whatever
/// the output mode (the prompt included). Its hooks run before the mode's own.
final class SessionLog: Sendable {
  private let events: EventLog
  private let output: OutputWriter
  private let url: String

  /// Opens (creates or truncates) `path` with mode 0600: the log holds cookies and
  /// message contents. A failure names the flag and the path.
  static func open(_ path: String, url: String) -> Result<SessionLog, TextFileError> {
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      return .failure(
        TextFileError("--log \(Terminal.escape(path)): cannot open: \(String(cString: strerror(errno)))"))
    }
    var format = OutputWriter.Format()
    format.lineBuffered = true
    let output = OutputWriter(format: format, fd: fd, name: "--log \(Terminal.escape(path))")
    return .success(SessionLog(output: output, url: url))
  }

  private init(output: OutputWriter, url: String) {
    self.output = output
    self.events = EventLog(output: output)
    self.url = url
  }

  /// The first write error, for the exit code (10).
  var failure: String? {
    if case .error(let message) = output.currentFailure { return message }
    return nil
  }

  /// Logs what `client` does, then calls the hooks the mode set (call after them).
  func attach(to client: WebSocketClient) {
    let events = self.events
    let started = MonotonicClock.now()
    let request = client.onRequest
    client.onRequest = { lines in
      events.request(lines)
      request?(lines)
    }
    let head = client.onResponseHead
    client.onResponseHead = { h in
      events.response(h)
      head?(h)
    }
    let open = client.onOpen
    let url = self.url
    client.onOpen = { response in
      events.open(response, url: url, handshakeSeconds: MonotonicClock.now() - started)
      open?(response)
    }
    let frame = client.onFrame
    client.onFrame = { t in
      events.frame(t)
      frame?(t)
    }
    if let data = client.onMessageData {
      client.onMessageData = { kind, bytes in
        _ = events.message(kind, bytes)
        data(kind, bytes)
      }
    } else {
      let message = client.onMessage
      client.onMessage = { m in
        m.data.withUnsafeBytes { _ = events.message(m.kind, $0) }
        message?(m)
      }
    }
    let ping = client.onPing
    client.onPing = { p in
      events.control("ping", p)
      ping?(p)
    }
    let pong = client.onPong
    client.onPong = { p in
      events.control("pong", p)
      pong?(p)
    }
    let error = client.onError
    client.onError = { e in
      events.error(e, exitCode: Session.exitStatus(for: e))
      error?(e)
    }
  }

  /// How a connection ended, and the attempt that follows (Link's `ended`).
  func ended(_ result: CloseResult, _ next: Link.Next) {
    switch next {
    case .stopped: break
    case .retry(let retry):
      events.close(result, peer: "server")
      events.reconnect(retry, after: Session.endText(result))
    case .end, .gaveUp:
      events.close(result, peer: "server")
    }
    output.flush()
  }
}
