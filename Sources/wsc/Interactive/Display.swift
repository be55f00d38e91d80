import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Lines waiting to be printed above the prompt, and the events that must reach the main
/// thread while it sits in libedit (DESIGN.md §2 rule 6: only the main thread touches the
/// terminal). Any thread posts; the main thread is woken through a pipe it polls together
/// with stdin, and drains everything in one go, so a burst costs one redraw.
final class Display: @unchecked Sendable {
  struct Line {
    /// 1 for messages and status, 2 for diagnostics and `-v` traces.
    var fd: Int32
    var text: String
  }

  enum Event: Equatable {
    case interrupt(Int32)
    case resize
  }

  private let lock = ConditionLock()
  private var lines: [Line] = []
  private var events: [Event] = []
  private var wakePending = false
  private var mainIsReading = false
  private var connectionEnded = false
  /// Nil when no pipe could be made: then nothing wakes the prompt early.
  private let wake: PipePair?
  /// Above this many queued lines the I/O thread waits for the main thread to print them,
  /// so a flood pushes back on the socket instead of growing memory (DESIGN.md §2 rule 5).
  private let highWater = 4096

  /// The green `<` before incoming messages (only when colour is on).
  let colored: Bool

  init(colored: Bool) {
    self.colored = colored
    wake = PipePair.make()
  }

  /// The fd the main thread polls for "something to show".
  var fd: Int32 { wake?.readFD ?? -1 }

  // MARK: Any thread

  func post(_ text: String, fd: Int32 = 1) {
    lock.withLock {
      while lines.count >= highWater && mainIsReading { _ = lock.wait() }
      lines.append(Line(fd: fd, text: text))
      wakeLocked()
    }
  }

  func post(event: Event) {
    lock.withLock {
      events.append(event)
      wakeLocked()
    }
  }

  /// The connection is over: the prompt ends once everything queued is shown.
  func markEnded() {
    lock.withLock {
      connectionEnded = true
      wakeLocked()
    }
  }

  /// A `-v` line (`Trace`) on stderr, dimmed when colour is on, so the eye skips it for
  /// the messages.
  func postTrace(_ text: String) {
    post(colored ? "\u{1B}[2m\(text)\u{1B}[0m" : text, fd: 2)
  }

  /// An incoming message as the prompt shows it: `< text`, escaped, with a green `<`
  /// when colour is on; binary messages as their size and a capped hex preview.
  func formatMessage(_ message: Message) -> String {
    let arrow = colored ? "\u{1B}[32m<\u{1B}[0m " : "< "
    switch message.kind {
    case .text: return arrow + Terminal.escape(message.data)
    case .binary:
      return arrow + "(binary, \(message.data.count) bytes) \(Terminal.hexPreview(message.data))"
    }
  }

  private func wakeLocked() {
    guard !wakePending else { return }
    wakePending = true
    wake?.signal()
  }

  // MARK: Main thread

  var ended: Bool { lock.withLock { connectionEnded && lines.isEmpty } }

  /// Marks whether the main thread is inside the prompt (and so will drain the queue).
  func setReading(_ reading: Bool) {
    lock.withLock {
      mainIsReading = reading
      lock.broadcast()
    }
  }

  /// Everything queued so far, and the events; empties the wake pipe.
  func take() -> (lines: [Line], events: [Event]) {
    var sink = [UInt8](repeating: 0, count: 64)
    if let wake { while read(wake.readFD, &sink, sink.count) > 0 {} }
    return lock.withLock {
      wakePending = false
      let taken = (lines, events)
      lines.removeAll(keepingCapacity: true)
      events.removeAll()
      lock.broadcast()
      return taken
    }
  }

  var hasPending: Bool { lock.withLock { !lines.isEmpty || !events.isEmpty } }

  /// Writes lines to the terminal, one write per stream run, each ending in CR LF (the
  /// terminal may be in raw mode without output processing).
  static func write(_ lines: [Line]) {
    var i = 0
    while i < lines.count {
      let fd = lines[i].fd
      var bytes: [UInt8] = []
      while i < lines.count && lines[i].fd == fd {
        bytes.append(contentsOf: lines[i].text.utf8)
        bytes.append(contentsOf: [0x0D, 0x0A])
        i += 1
      }
      writeAll(fd, bytes)
    }
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n > 0 {
        offset += n
      } else if n < 0 && errno == EINTR {
        continue
      } else if n < 0 && errno == EAGAIN {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&p, 1, 1000)
      } else {
        return
      }
    }
  }
}
