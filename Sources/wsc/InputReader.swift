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

  /// Calls `message` for each complete message until EOF, an error, or `message` returns false.
  mutating func run(
    message: ([UInt8]) -> Bool, onOversized: (Int) -> Void
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
          if !message(last) { return .stopped }
        }
        return .eof
      }
      var stop = false
      buffer.withUnsafeBufferPointer { chunk in
        var start = 0
        while start < n && !stop {
          let slice = chunk[start..<n]
          let end = slice.firstIndex(of: separator)
          let piece = UnsafeBufferPointer(rebasing: chunk[start..<(end ?? n)])
          if skipping {
            if end != nil { skipping = false }
          } else if pending.count + piece.count > maxSize {
            onOversized(pending.count + piece.count)
            pending = []
            skipping = end == nil
          } else if let _ = end {
            if pending.isEmpty {
              if !message(Array(piece)) { stop = true }
            } else {
              pending.append(contentsOf: piece)
              let whole = pending
              pending = []
              if !message(whole) { stop = true }
            }
          } else {
            pending.append(contentsOf: piece)
          }
          start = (end ?? n) + 1
        }
      }
      if stop { return .stopped }
    }
  }
}
