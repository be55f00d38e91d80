/// Keepalive Pings (CHECKLIST K4): a Ping every `interval` seconds, and the connection is
/// given up (Close 1011, a timeout error) when its Pong has not come `timeout` seconds later.
///
/// A Pong answers a Ping only if it carries the same payload (RFC 6455 §5.5.3), so each
/// keepalive Ping carries a fresh counter and an unsolicited or stale Pong does not count.
/// The deadline is checked only when the socket has nothing left to read, so a Pong that
/// waited behind data (a slow stdout held the I/O thread) is still seen in time. The
/// figures of Python websockets are 20 s and 20 s.
public struct Keepalive: Sendable, Equatable {
  public var interval: Double
  public var timeout: Double

  public init(interval: Double, timeout: Double = 20) {
    self.interval = interval
    self.timeout = timeout
  }
}
