/// Every deadline of an open connection, and the one the loop sleeps until. A value with
/// no I/O: `WebSocketPeer.runOpen` sets the deadlines as the connection moves on and asks
/// `nextDeadline` how long `poll()` may wait.
struct ConnectionTimers {
  /// We sent a Close: the peer's is due by then (`--close-timeout`, RFC 6455 §7.1.2).
  var close: Double?
  /// The closing handshake is done or failed: how long we wait for TCP to end. RFC 6455
  /// §7.1.1 has the server close TCP first; a client waits a bounded time for that
  /// (Chromium: 2 s), and after a failure only long enough to flush its Close.
  private(set) var linger: Double?
  var keepalive: KeepaliveSchedule?

  init(keepalive: Keepalive?, now: Double) {
    self.keepalive = keepalive.map { KeepaliveSchedule($0, now: now) }
  }

  /// Starts the linger once (a later call keeps the first deadline); returns it.
  mutating func startLinger(now: Double, failed: Bool) -> Double {
    if let linger { return linger }
    let deadline = now + (failed ? 1 : 2)
    linger = deadline
    return deadline
  }

  /// The earliest deadline the loop must wake for. Keepalive counts only while the
  /// connection can still send (after our Close no Ping may follow).
  func nextDeadline(canSend: Bool, reading: Bool) -> Double? {
    let keepaliveDue = canSend ? keepalive?.deadline(reading: reading) : nil
    return [close, linger, keepaliveDue].compactMap { $0 }.min()
  }

  /// `poll()`'s timeout in milliseconds until `deadline`: -1 (none) without one, 0 when it
  /// has passed, rounded up so the loop never wakes just before it, and at most a day.
  static func pollTimeout(until deadline: Double?, now: Double) -> Int32 {
    guard let deadline else { return -1 }
    return Int32(max(0, min((deadline - now) * 1000, 86_400_000)).rounded(.up))
  }
}
