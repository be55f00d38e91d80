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
/// Called from the I/O thread and, at exit, the main thread; a lock keeps them apart.
final class OutputWriter: @unchecked Sendable {
  enum Failure: Equatable {
    /// The reader went away (EPIPE): end quietly.
    case brokenPipe
    /// Any other write error (ENOSPC, EIO): exit 10.
    case error(String)
  }

  struct Format {
    /// Terminator after each message: "\n", or NUL with `-0`.
    var separator: UInt8 = UInt8(ascii: "\n")
    var base64Binary = false
    /// stdout is a terminal: escape control characters and summarise binary messages.
    var terminal = false
  }

  private let lock = ConditionLock()
  private let fd: Int32 = 1
  private let format: Format
  private var buffer: [UInt8] = []
  private(set) var failure: Failure?
  private let flushThreshold = 64 * 1024

  init(format: Format) {
    self.format = format
    buffer.reserveCapacity(flushThreshold * 2)
  }

  var currentFailure: Failure? { lock.withLock { failure } }

  /// Appends one message, after `prefix` (listen mode's `[N] ` tag); returns false once
  /// stdout has failed.
  @discardableResult
  func write(_ message: Message, prefix: String = "") -> Bool {
    message.data.withUnsafeBytes { write(message.kind, $0, prefix: prefix) }
  }

  /// Appends one message whose payload is lent for the call. A payload larger than the
  /// buffer is written straight from where it lies, after what is buffered, instead of
  /// being copied into the buffer first.
  @discardableResult
  func write(_ kind: Message.Kind, _ data: UnsafeRawBufferPointer, prefix: String = "") -> Bool {
    lock.withLock {
      guard failure == nil else { return false }
      if !prefix.isEmpty { buffer.append(contentsOf: prefix.utf8) }
      if format.terminal {
        switch kind {
        case .text: buffer.append(contentsOf: Terminal.escape(data).utf8)
        case .binary:
          buffer.append(contentsOf: "(binary, \(data.count) bytes) \(Terminal.hexPreview(data))".utf8)
        }
      } else if kind == .binary && format.base64Binary {
        buffer.append(contentsOf: Base64.encode(data))
      } else if data.count >= flushThreshold {
        flushLocked()
        writeAll(data)
      } else {
        buffer.append(contentsOf: data)
      }
      buffer.append(format.terminal ? UInt8(ascii: "\n") : format.separator)
      if buffer.count >= flushThreshold || format.terminal { flushLocked() }
      return failure == nil
    }
  }

  /// Writes out the buffer; returns false once stdout has failed.
  @discardableResult
  func flush() -> Bool {
    lock.withLock {
      flushLocked()
      return failure == nil
    }
  }

  private func flushLocked() {
    buffer.withUnsafeBytes { writeAll($0) }
    buffer.removeAll(keepingCapacity: buffer.capacity <= 4 * flushThreshold)
  }

  /// Writes `bytes` to stdout unless it has already failed; records the failure.
  private func writeAll(_ bytes: UnsafeRawBufferPointer) {
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
      default: failure = .error("cannot write to stdout: \(String(cString: strerror(errno)))")
      }
    }
  }
}
