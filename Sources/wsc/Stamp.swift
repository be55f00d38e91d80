import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `n` in decimal with leading zeros to `width` digits ("07", "000123").
func zeroPadded(_ n: Int, _ width: Int) -> String {
  let s = String(n)
  return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// `--timestamps`: when each message and trace line of the human formats arrived, as a
/// prefix: local time with milliseconds ("13:21:31.123 "), or with `--timestamps=relative`
/// seconds since the connection started ("+1.234 "). `--jsonl` has its own `ts`.
enum Stamp {
  enum Mode: String {
    case off
    case local
    case relative
  }

  /// Set once by `WSC.run` before any other thread starts, and only read after that.
  nonisolated(unsafe) static var mode = Mode.off
  /// When the connection started (or listen mode began), for `relative`.
  nonisolated(unsafe) static var origin = MonotonicClock.now()

  /// The prefix for a line that arrives now; "" without --timestamps.
  static func prefix() -> String {
    switch mode {
    case .off: return ""
    case .relative:
      let ms = Int(((MonotonicClock.now() - origin) * 1000).rounded())
      let frac = String(ms % 1000)
      return "+\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac) "
    case .local:
      var now = timespec()
      clock_gettime(CLOCK_REALTIME, &now)
      var seconds = now.tv_sec
      var parts = tm()
      localtime_r(&seconds, &parts)
      let pad = zeroPadded
      return "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
        + "\(pad(Int(now.tv_nsec / 1_000_000), 3)) "
    }
  }
}
