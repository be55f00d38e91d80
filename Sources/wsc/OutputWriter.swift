import Synchronization
import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Buffered message output on stdout (DESIGN.md §3: flushed when the socket has nothing
/// more to read right now, so floods go out in large writes and a lone reply at once).
///
/// Called from I/O threads (several in listen mode) and, at exit, the main thread; a
/// `Mutex` keeps them apart. It is taken once per message, so it is the inlinable futex
/// mutex of the Synchronization module rather than a pthread mutex behind a call.
final class OutputWriter: Sendable {
  enum Failure: Equatable {
    /// The reader went away (EPIPE): end quietly.
    case brokenPipe
    /// Any other write error (ENOSPC, EIO): exit 10.
    case error(String)
  }

  struct Format {
    /// Terminator after each message: "\n", or NUL with `-0`; none with `--no-separator`
    /// (payloads byte for byte, e.g. one binary message to a file). A terminal always
    /// gets "\n".
    var separator: UInt8? = UInt8(ascii: "\n")
    var base64Binary = false
    /// stdout is a terminal: escape control characters and summarise binary messages.
    var terminal = false
    /// Write each line as it comes (`--log`: the file shows the session as it happens).
    var lineBuffered = false
  }

  /// The buffer and the first failure, owned by whoever holds the mutex.
  private struct State: ~Copyable {
    let fd: Int32
    /// What the descriptor is, for error messages: "stdout", "--log FILE".
    let name: String
    /// A `ByteQueue`, not an array: appending a small message to an array cost as much
    /// bookkeeping as the rest of printing it (B2, issue 17).
    var buffer = ByteQueue(capacity: 2 * OutputWriter.flushThreshold)
    var failure: Failure?

    mutating func flush() {
      buffer.withUnsafeBytes { writeAll($0) }
      buffer.removeAll()
      buffer.release(keepingCapacity: 4 * OutputWriter.flushThreshold)
    }

    /// Writes `bytes` to stdout unless it has already failed; records the failure.
    mutating func writeAll(_ bytes: UnsafeRawBufferPointer) {
      var offset = 0
      while offset < bytes.count && failure == nil {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n >= 0 {
          offset += n
          continue
        }
        switch errno {
        case EINTR: continue
        case EAGAIN:
          // stdout was left non-blocking by another process: wait until it drains.
          var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
          _ = poll(&p, 1, 1000)
        case EPIPE: failure = .brokenPipe
        default: failure = .error("cannot write to \(name): \(String(cString: strerror(errno)))")
        }
      }
    }
  }

  private static let flushThreshold = 64 * 1024
  private let format: Format
  private let state: Mutex<State>

  /// Writes to `fd` (stdout unless told), called `name` in error messages.
  init(format: Format, fd: Int32 = 1, name: String = "stdout") {
    self.format = format
    state = Mutex(State(fd: fd, name: name))
  }

  var currentFailure: Failure? { state.withLock { $0.failure } }

  /// Appends one message, after `prefix` (listen mode's `[N] ` tag); returns false once
  /// stdout has failed.
  @discardableResult
  func write(_ message: Message, prefix: String = "") -> Bool {
    message.data.withUnsafeBytes { write(message.kind, $0, prefix: prefix) }
  }

  /// Appends one message whose payload is lent for the call, with no prefix. The common
  /// case, a message printed as it is (not to a terminal, not as base64) and under the
  /// flush threshold, is one lock and one append of the payload and its separator: B2
  /// (1,000,000 messages of 64 bytes) spent a quarter of its instructions here (issue 17).
  @discardableResult
  func write(_ kind: Message.Kind, _ data: UnsafeRawBufferPointer) -> Bool {
    guard !format.terminal && !(kind == .binary && format.base64Binary) && data.count < Self.flushThreshold
    else { return write(kind, data, prefix: "") }
    let separator = format.separator
    return state.withLock { s in
      guard s.failure == nil else { return false }
      s.buffer.append(data, terminator: separator)
      if s.buffer.count >= Self.flushThreshold { s.flush() }
      return s.failure == nil
    }
  }

  /// Appends one message whose payload is lent for the call. A payload larger than the
  /// buffer is written straight from where it lies, after what is buffered, instead of
  /// being copied into the buffer first.
  @discardableResult
  func write(_ kind: Message.Kind, _ data: UnsafeRawBufferPointer, prefix: String = "") -> Bool {
    let format = format
    return state.withLock { s in
      guard s.failure == nil else { return false }
      if !prefix.isEmpty { s.buffer.append(prefix) }
      if format.terminal {
        switch kind {
        case .text: s.buffer.append(Terminal.escape(data))
        case .binary:
          s.buffer.append("(binary, \(data.count) bytes) \(Terminal.hexPreview(data))")
        }
      } else if kind == .binary && format.base64Binary {
        Base64.encode(data).withUnsafeBytes { s.buffer.append($0) }
      } else if data.count >= Self.flushThreshold {
        s.flush()
        s.writeAll(data)
      } else {
        s.buffer.append(data)
      }
      if format.terminal {
        s.buffer.append(UInt8(ascii: "\n"))
      } else if let separator = format.separator {
        s.buffer.append(separator)
      }
      if s.buffer.count >= Self.flushThreshold || format.terminal { s.flush() }
      return s.failure == nil
    }
  }

  /// Appends one line as it is, then "\n" (a `--jsonl` event: already escaped JSON, so
  /// the same on a terminal as on a pipe).
  @discardableResult
  func writeLine(_ line: String) -> Bool {
    state.withLock { s in
      guard s.failure == nil else { return false }
      s.buffer.append(line)
      s.buffer.append(UInt8(ascii: "\n"))
      if s.buffer.count >= Self.flushThreshold || format.terminal || format.lineBuffered { s.flush() }
      return s.failure == nil
    }
  }

  /// Writes out the buffer; returns false once stdout has failed.
  @discardableResult
  func flush() -> Bool {
    state.withLock { s in
      s.flush()
      return s.failure == nil
    }
  }
}
