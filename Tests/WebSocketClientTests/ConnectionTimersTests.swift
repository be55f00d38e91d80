import Testing

@testable import WebSocketClient

/// The deadlines of the open-connection loop, as values: what `runOpen` sleeps until and
/// when a keepalive Ping goes out or is given up (CHECKLIST K4, RFC 6455 §5.5.2–5.5.3).
@Suite("ConnectionTimers and KeepaliveSchedule")
struct ConnectionTimersTests {
  @Test("§5.5.2: a Ping is due one interval after the start, then one interval after each")
  func pingsAreDueEveryInterval() {
    var k = KeepaliveSchedule(Keepalive(interval: 5, timeout: 3), now: 100)
    #expect(k.takeDuePing(now: 104.9) == nil)
    let first = k.takeDuePing(now: 105)
    #expect(first == [0, 0, 0, 1])
    k.sent(first!, now: 105)
    // One at a time: none while the first is unanswered, even when the next is due.
    #expect(k.takeDuePing(now: 111) == nil)
    #expect(k.pongArrived([0, 0, 0, 1], now: 105.25) == 0.25)
    #expect(k.takeDuePing(now: 109.9) == nil)
    #expect(k.takeDuePing(now: 110) == [0, 0, 0, 2])
  }

  @Test("§5.5.3: only a Pong with the awaited Ping's payload answers it")
  func onlyTheMatchingPongAnswers() {
    var k = KeepaliveSchedule(Keepalive(interval: 1, timeout: 2), now: 0)
    let payload = k.takeDuePing(now: 1)!
    k.sent(payload, now: 1)
    #expect(k.pongArrived([], now: 1.5) == nil)
    #expect(k.pongArrived([0, 0, 0, 9], now: 1.5) == nil)
    #expect(k.isOverdue(now: 2.9) == false)
    #expect(k.isOverdue(now: 3))
    #expect(k.pongArrived(payload, now: 3.5) == 2.5)
    #expect(k.isOverdue(now: 10) == false)
  }

  @Test("a Ping that could not be sent schedules the next one and awaits nothing")
  func unsentPingAwaitsNothing() {
    var k = KeepaliveSchedule(Keepalive(interval: 2, timeout: 1), now: 0)
    #expect(k.takeDuePing(now: 2) != nil)
    #expect(k.awaiting == nil)
    #expect(k.deadline(reading: true) == 4)
  }

  @Test("after giving up there is no Ping and no deadline")
  func givingUpStopsThePings() {
    var k = KeepaliveSchedule(Keepalive(interval: 1, timeout: 1), now: 0)
    k.sent(k.takeDuePing(now: 1)!, now: 1)
    k.giveUp()
    #expect(k.deadline(reading: true) == nil)
    #expect(k.takeDuePing(now: 100) == nil)
  }

  @Test("a late Pong's deadline wakes the loop only while it reads")
  func pongDeadlineOnlyWhileReading() {
    var timers = ConnectionTimers(keepalive: Keepalive(interval: 10, timeout: 5), now: 0)
    #expect(timers.nextDeadline(canSend: true, reading: false) == 10)
    timers.keepalive!.sent(timers.keepalive!.takeDuePing(now: 10)!, now: 10)
    #expect(timers.nextDeadline(canSend: true, reading: true) == 15)
    #expect(timers.nextDeadline(canSend: true, reading: false) == nil)
    // After our Close no Ping may follow (§5.5.1): keepalive no longer wakes the loop.
    #expect(timers.nextDeadline(canSend: false, reading: true) == nil)
  }

  @Test("§7.1.1: the earliest of close timeout, linger and keepalive; the linger starts once")
  func earliestDeadline() {
    var timers = ConnectionTimers(keepalive: Keepalive(interval: 30), now: 0)
    timers.close = 12
    #expect(timers.nextDeadline(canSend: true, reading: true) == 12)
    #expect(timers.startLinger(now: 5, failed: false) == 7)
    #expect(timers.startLinger(now: 6, failed: true) == 7)
    #expect(timers.nextDeadline(canSend: true, reading: true) == 7)
    var failed = ConnectionTimers(keepalive: nil, now: 0)
    #expect(failed.startLinger(now: 5, failed: true) == 6)
  }

  @Test("poll()'s timeout: -1 without a deadline, 0 once passed, rounded up, at most a day")
  func pollTimeout() {
    #expect(ConnectionTimers.pollTimeout(until: nil, now: 0) == -1)
    #expect(ConnectionTimers.pollTimeout(until: 1, now: 2) == 0)
    #expect(ConnectionTimers.pollTimeout(until: 1.0001, now: 1) == 1)
    #expect(ConnectionTimers.pollTimeout(until: 2.5, now: 1) == 1500)
    #expect(ConnectionTimers.pollTimeout(until: 1e9, now: 0) == 86_400_000)
  }
}
