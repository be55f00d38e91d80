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
struct InputReader {
  let fd: Int32
  let separator: UInt8
  let maxSize: Int
  private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
  private var pending: [UInt8] = []
  private var skipping = false

  init(fd: Int32 = 0, separator: UInt8, maxSize: Int) {
    self.fd = fd
    self.separator = separator
    self.maxSize = maxSize
  }

  enum Outcome {
    case eof
    case failed(String)
    /// The consumer asked to stop.
    case stopped
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
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN {
          var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
          _ = poll(&p, 1, -1)
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
