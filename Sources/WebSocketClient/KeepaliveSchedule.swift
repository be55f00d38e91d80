/// When the next keepalive Ping is due and which one awaits its Pong (CHECKLIST K4): the
/// keepalive part of `ConnectionTimers`. A value with no I/O; the open-connection loop asks
/// it, sends what it says and tells it what arrived.
///
/// Each Ping carries a fresh 4-byte counter, because a Pong answers a Ping only if it
/// echoes that Ping's payload (RFC 6455 §5.5.3): an unsolicited Pong, or one left over from
/// an earlier Ping, answers nothing. One Ping at a time: the next is scheduled once the
/// previous is sent, and is not sent while one is unanswered.
struct KeepaliveSchedule {
  /// A Ping that was sent and whose Pong has not come.
  struct Awaiting {
    var payload: [UInt8]
    /// The Pong is late after this.
    var deadline: Double
    var sentAt: Double
  }

  let settings: Keepalive
  /// When the next Ping is due; nil once the keepalive has given up.
  private(set) var nextPing: Double?
  private(set) var awaiting: Awaiting?
  private var pingsSent: UInt32 = 0

  /// The first Ping is due one interval after `now`.
  init(_ settings: Keepalive, now: Double) {
    self.settings = settings
    self.nextPing = now + settings.interval
  }

  /// The payload of the Ping to send at `now`, if one is due; the next one is then
  /// scheduled, whether or not the caller manages to send this one.
  mutating func takeDuePing(now: Double) -> [UInt8]? {
    guard let due = nextPing, awaiting == nil, now >= due else { return nil }
    pingsSent &+= 1
    nextPing = now + settings.interval
    return withUnsafeBytes(of: pingsSent.bigEndian) { Array($0) }
  }

  /// The Ping from `takeDuePing` went out at `now`.
  mutating func sent(_ payload: [UInt8], now: Double) {
    awaiting = Awaiting(payload: payload, deadline: now + settings.timeout, sentAt: now)
  }

  /// A Pong arrived at `now`: the round trip in seconds if it answers the awaited Ping.
  mutating func pongArrived(_ payload: [UInt8], now: Double) -> Double? {
    guard let ping = awaiting, payload == ping.payload else { return nil }
    awaiting = nil
    return now - ping.sentAt
  }

  /// The moment the loop must wake for: the next Ping, or the awaited Pong's deadline.
  /// While the loop is not reading, a late Pong cannot be judged (it may be waiting
  /// unread), so its deadline must not wake the loop, or the loop would spin.
  func deadline(reading: Bool) -> Double? {
    guard let awaiting else { return nextPing }
    return reading ? awaiting.deadline : nil
  }

  /// Whether the awaited Pong is late at `now`.
  func isOverdue(now: Double) -> Bool {
    guard let awaiting else { return false }
    return now >= awaiting.deadline
  }

  /// The Pong was late: no more Pings.
  mutating func giveUp() {
    awaiting = nil
    nextPing = nil
  }
}
