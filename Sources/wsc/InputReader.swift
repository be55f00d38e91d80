#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads stdin in large chunks and splits it into messages at a separator byte
/// (newline, or NUL with `-0`). A final piece without a separator is a message too.
///
/// A message longer than `maxSize` is skipped up to its separator (reported through
/// `onOversized`), so memory stays bounded by the limit whatever the input.
///
/// With a `stopFD`, every read waits in `poll()` on stdin and that descriptor together:
/// when it becomes readable the reader returns `.stopped` at once, however idle stdin is,
/// so no thread stays blocked in `read(2)` after the connection has ended.
struct InputReader {
  let fd: Int32
  let separator: UInt8
  let maxSize: Int
  let stopFD: Int32
  private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
  private var pending: [UInt8] = []
  private var skipping = false

  init(fd: Int32 = 0, separator: UInt8, maxSize: Int, stopFD: Int32 = -1) {
    self.fd = fd
    self.separator = separator
    self.maxSize = maxSize
    self.stopFD = stopFD
  }

  enum Outcome {
    case eof
    case failed(String)
    /// The consumer asked to stop, or `stopFD` became readable.
    case stopped
  }

  /// Waits until stdin has something for `read` (data, EOF or an error) or `stopFD` fires;
  /// false for the latter. Without a `stopFD` there is nothing to wait for here.
  private func waitForInput() -> Bool {
    guard stopFD >= 0 else { return true }
    var fds = [
      pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
      pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
    ]
    while true {
      let r = poll(&fds, 2, -1)
      if r < 0 && errno == EINTR { continue }
      // A failed poll leaves the verdict to read(2), which reports its own error.
      if r < 0 { return true }
      if fds[1].revents != 0 { return false }
      if fds[0].revents != 0 { return true }
    }
  }

  /// Calls `message` for each complete message until EOF, an error, or a callback returns
  /// false. The message's bytes are lent for the duration of the call (a slice of the read
  /// buffer when the message lies in one read). `onChunkEnd` runs after the messages of
  /// each read, before the next read may block: the moment to hand a batch on.
  mutating func run(
    message: (UnsafeRawBufferPointer) -> Bool, onOversized: (Int) -> Void,
    onChunkEnd: () -> Bool = { true }
  ) -> Outcome {
    while true {
      if !waitForInput() { return .stopped }
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN {
          // Someone else's O_NONBLOCK on a shared stdin: wait for data rather than spin.
          if stopFD < 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, -1)
          }
          continue
        }
        return .failed("cannot read stdin: \(String(cString: strerror(errno)))")
      }
      if n == 0 {
        if !pending.isEmpty && !skipping {
          let last = pending
          pending = []
          if !last.withUnsafeBytes({ message($0) }) { return .stopped }
        }
        return onChunkEnd() ? .eof : .stopped
      }
      var stop = false
      buffer.withUnsafeBytes { raw in
        let base = raw.baseAddress!
        var start = 0
        while start < n && !stop {
          // memchr: the C library scans 16 or 32 bytes per step.
          let found = memchr(base + start, Int32(separator), n - start)
          let end = found.map { base.distance(to: UnsafeRawPointer($0)) }
          let piece = UnsafeRawBufferPointer(start: base + start, count: (end ?? n) - start)
          if skipping {
            if end != nil { skipping = false }
          } else if pending.count + piece.count > maxSize {
            onOversized(pending.count + piece.count)
            pending = []
            skipping = end == nil
          } else if end != nil {
            if pending.isEmpty {
              if !message(piece) { stop = true }
            } else {
              pending.append(contentsOf: piece)
              let whole = pending
              pending = []
              if !whole.withUnsafeBytes({ message($0) }) { stop = true }
            }
          } else {
            pending.append(contentsOf: piece)
          }
          start = (end ?? n) + 1
        }
      }
      if stop || !onChunkEnd() { return .stopped }
    }
  }
}
