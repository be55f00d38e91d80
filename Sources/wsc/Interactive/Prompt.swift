import CEditLine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The interactive prompt: libedit on the main thread (DESIGN.md §2 rule 6), with a custom
/// read function that waits on stdin and the display's wake pipe together, so lines from
/// the I/O thread are printed above the prompt while the user types.
///
/// Redraw: the read function erases the prompt and the partly typed line (moving up over
/// the rows it wraps onto, measured with the terminal's width and each character's
/// display width), prints every queued line, then has libedit draw the prompt, the line and
/// the cursor again (`EL_REFRESH`). Keystrokes are never lost: bytes read from stdin are
/// buffered and handed to libedit one character at a time.
final class Prompt {
  enum ReadResult: Equatable {
    case line(String)
    /// Ctrl-D on an empty line, or stdin closed.
    case endOfInput
    case interrupted(Int32)
    /// The connection is over and everything it printed has been shown.
    case connectionEnded
  }

  static let text = "> "

  nonisolated(unsafe) private static var current: Prompt?
  nonisolated(unsafe) private static let promptCString: UnsafeMutablePointer<CChar> = strdup(text)!

  private let editLine: OpaquePointer
  private let display: Display
  let history: PromptHistory?
  private var input: [UInt8] = []
  private var inputStart = 0
  private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
  private var stop: ReadResult?
  private var ended = false

  init?(display: Display, history: PromptHistory?) {
    Self.useUTF8Locale()
    guard let input = fdopen(0, "r"), let output = fdopen(1, "w"), let errors = fdopen(2, "w"),
      let el = el_init("wsc", input, output, errors)
    else { return nil }
    editLine = el
    self.display = display
    self.history = history
    _ = wsc_el_set_prompt(el) { _ in Prompt.promptCString }
    _ = wsc_el_set_editor(el, "emacs")
    _ = wsc_el_set_signal(el, 0)
    if let history { _ = wsc_el_set_hist(el, history.handle) }
    _ = wsc_el_set_getcfn(el) { _, out in
      guard let prompt = Prompt.current, let out else { return -1 }
      return prompt.nextCharacter(out)
    }
    // Ctrl-R searches the history as bash and zsh users expect (libedit's emacs map has
    // it redraw the line); Ctrl-S searches forward when the terminal leaves it alone.
    _ = wsc_el_bind(el, "^R", "em-inc-search-prev")
    _ = wsc_el_bind(el, "^S", "em-inc-search-next")
    // ~/.editrc (or $EDITRC) may rebind keys or switch to vi mode.
    _ = el_source(el, nil)
  }

  /// `setlocale(LC_CTYPE, "")` before `el_init` so libedit edits UTF-8; when the
  /// environment names no UTF-8 locale, C.UTF-8 keeps wide characters editable anyway.
  private static func useUTF8Locale() {
    _ = setlocale(LC_CTYPE, "")
    let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
    if codeset != "UTF-8" { _ = setlocale(LC_CTYPE, "C.UTF-8") }
  }

  /// Restores the terminal and frees libedit (main thread, once).
  func end() {
    el_end(editLine)
  }

  /// Reads one line with editing; messages that arrive meanwhile are shown above it.
  func readLine() -> ReadResult {
    if ended { return .connectionEnded }
    Prompt.current = self
    stop = nil
    display.setReading(true)
    defer { display.setReading(false) }
    var count: Int32 = 0
    let line = el_wgets(editLine, &count)
    if let stop {
      if case .connectionEnded = stop { ended = true }
      leaveLine(erasing: stop == .connectionEnded)
      return stop
    }
    guard let line, count > 0 else {
      leaveLine(erasing: false)
      return .endOfInput
    }
    var text = ""
    for i in 0..<Int(count) {
      let c = line[i]
      if i == Int(count) - 1 && c == 0x0A { break }
      text.unicodeScalars.append(Unicode.Scalar(UInt32(bitPattern: c)) ?? "\u{FFFD}")
    }
    return .line(text)
  }

  /// Moves off the line being edited when the prompt stops without a line. A bare "> " left
  /// behind reads as a prompt still waiting (above a connect error, after "Disconnected"),
  /// so it is erased (issue 20), as is everything once the connection has ended: nothing
  /// typed there can be sent. A partly typed line stays, as a shell leaves it after ^C.
  private func leaveLine(erasing: Bool) {
    var empty = true
    if let info = el_wline(editLine) { empty = info.pointee.lastchar == info.pointee.buffer }
    if erasing || empty {
      eraseLine()
    } else {
      // libedit leaves the cursor on the unfinished line.
      Display.writeAll(1, [0x0D, 0x0A])
    }
  }

  // MARK: The read function (called by libedit, main thread)

  private func nextCharacter(_ out: UnsafeMutablePointer<wchar_t>) -> Int32 {
    while true {
      if stop != nil { return 0 }
      if let c = decodeBuffered() {
        if c == 0x03 {
          // ^C as a byte (the terminal's ISIG is off, e.g. through ~/.editrc): an interrupt.
          stop = .interrupted(SIGINT)
          return 0
        }
        out.pointee = c
        return 1
      }
      var fds = [
        pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
        pollfd(fd: display.fd, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&fds, 2, -1)
      if ready < 0 {
        if errno == EINTR { continue }
        stop = .endOfInput
        return 0
      }
      if fds[1].revents != 0 { serviceDisplay() }
      if stop == nil && fds[0].revents != 0 { readStdin() }
    }
  }

  private func readStdin() {
    let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
    if n > 0 {
      if inputStart == input.count {
        input.removeAll(keepingCapacity: true)
        inputStart = 0
      }
      input.append(contentsOf: chunk[0..<n])
    } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
      stop = .endOfInput
    }
  }

  /// One UTF-8 character from the buffered input, or nil when more bytes are needed.
  private func decodeBuffered() -> wchar_t? {
    let available = input.count - inputStart
    guard available > 0 else { return nil }
    let b0 = input[inputStart]
    let length: Int
    switch b0 {
    case 0..<0x80: length = 1
    case 0xC2..<0xE0: length = 2
    case 0xE0..<0xF0: length = 3
    case 0xF0..<0xF5: length = 4
    default: length = 0
    }
    if length == 0 {
      inputStart += 1
      return 0xFFFD
    }
    guard available >= length else { return nil }
    var value = UInt32(b0) & (length == 1 ? 0x7F : length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
    for i in 1..<length {
      let b = input[inputStart + i]
      guard b & 0xC0 == 0x80 else {
        inputStart += i
        return 0xFFFD
      }
      value = value << 6 | UInt32(b & 0x3F)
    }
    inputStart += length
    if Unicode.Scalar(value) == nil { return 0xFFFD }
    return wchar_t(bitPattern: value)
  }

  // MARK: Printing above the prompt

  private func serviceDisplay() {
    let (lines, events) = display.take()
    var resized = false
    for event in events {
      switch event {
      case .interrupt(let signal): stop = .interrupted(signal)
      case .resize: resized = true
      }
    }
    if resized { el_resize(editLine) }
    if !lines.isEmpty || resized {
      eraseLine()
      Display.write(lines)
      _ = wsc_el_refresh(editLine)
    }
    if stop == nil && display.ended { stop = .connectionEnded }
  }

  /// Moves to the first column of the prompt's first row and clears to the end of the screen.
  private func eraseLine() {
    let rows = cursorRow()
    var seq = "\r"
    if rows > 0 { seq += "\u{1B}[\(rows)A" }
    seq += "\u{1B}[J"
    Display.writeAll(1, Array(seq.utf8))
  }

  /// The row (from the prompt's first) the cursor is on, laid out as libedit lays out the
  /// prompt and buffer: wide characters that do not fit wrap whole, a full row wraps at once,
  /// control characters show as ^X, tabs stop every 8 columns.
  private func cursorRow() -> Int {
    let columns = Self.terminalColumns()
    var row = 0
    var column = 0
    func put(_ width: Int) {
      if width > 1 && column + width > columns {
        row += 1
        column = 0
      }
      column += width
      if column >= columns {
        row += 1
        column = 0
      }
    }
    for _ in Self.text.utf8 { put(1) }
    guard let info = el_wline(editLine) else { return row }
    var p = info.pointee.buffer!
    let cursor = info.pointee.cursor!
    while p < cursor {
      let c = p.pointee
      if c == 0x09 {
        repeat { put(1) } while column % 8 != 0
      } else if c < 0x20 || c == 0x7F {
        put(2)
      } else {
        let w = Int(wsc_wcwidth(c))
        put(w >= 0 ? w : (c > 0xFFFF ? 8 : 7))
      }
      p += 1
    }
    return row
  }

  static func terminalColumns() -> Int {
    var size = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
    return 80
  }
}

/// The terminal's settings before the prompt changed them, restored on every exit path
/// (including a second Ctrl-C, which exits from the signal thread without libedit).
enum TerminalState {
  nonisolated(unsafe) private static var saved: termios?

  static func save() {
    var t = termios()
    if tcgetattr(0, &t) == 0 { saved = t }
  }

  static func restore() {
    guard var t = saved else { return }
    _ = tcsetattr(0, TCSANOW, &t)
  }
}
