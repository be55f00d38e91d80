import Testing
import WebSocketProtocol

@testable import WebSocketClient

/// `--reconnect`: the full-jitter ceilings and what is retried.
struct ReconnectPolicyTests {
  @Test func ceilingsDoubleFromTheInitialDelayUpToTheCap() {
    let policy = ReconnectPolicy(initialDelay: 0.5, maxDelay: 30)
    #expect((1...8).map { policy.ceiling(attempt: $0) } == [0.5, 1, 2, 4, 8, 16, 30, 30])
    // Far past the cap nothing overflows.
    #expect(policy.ceiling(attempt: 10_000) == 30)
  }

  @Test func delaysSpanZeroToTheCeiling() {
    let policy = ReconnectPolicy(initialDelay: 0.5, maxDelay: 2)
    #expect(policy.delay(attempt: 3, unit: 0) == 0)
    #expect(policy.delay(attempt: 3, unit: 0.5) == 1)
    #expect(policy.delay(attempt: 3, unit: 1) == 2)
    #expect(policy.delay(attempt: 1, unit: 7) == 0.5)
  }

  @Test func lostConnectionsTimeoutsRefusalsAndServerErrorsAreRetried() {
    let policy = ReconnectPolicy()
    for error: WebSocketClientError in [
      .connectFailed("refused"), .connectionLost("reset"), .timeout("handshake"), .proxy("502"),
      .handshake(
        .unexpectedStatus(
          code: 503, reason: "Unavailable", head: HTTPHeadParser.Head(startLine: "", headers: []))),
    ] {
      #expect(policy.shouldRetry(CloseResult(error: error, wasOpen: false)), "\(error)")
    }
  }

  @Test func rejectionsTLSAndProtocolViolationsAreNot() {
    let policy = ReconnectPolicy()
    for error: WebSocketClientError in [
      .handshake(
        .unexpectedStatus(
          code: 403, reason: "Forbidden", head: HTTPHeadParser.Head(startLine: "", headers: []))),
      .handshake(
        .unexpectedStatus(code: 200, reason: "OK", head: HTTPHeadParser.Head(startLine: "", headers: []))),
      .tls("certificate verify failed"), .redirect("loop"), .protocolViolation(.unexpectedMask(masked: true)),
      .local("stdout"),
    ] {
      #expect(!policy.shouldRetry(CloseResult(error: error, wasOpen: true)), "\(error)")
    }
  }

  @Test func aServerCloseIsRetriedUnlessItsCodeIsAStopCode() {
    var policy = ReconnectPolicy()
    let close = { (code: UInt16?) in
      CloseResult(received: CloseFrame(code: code, reason: []), wasOpen: true)
    }
    #expect(!policy.shouldRetry(close(1000)))
    #expect(policy.shouldRetry(close(1001)))
    #expect(policy.shouldRetry(close(1011)))
    #expect(policy.shouldRetry(close(nil)))
    policy.stopCodes = [1000, 1005, 4000]
    #expect(!policy.shouldRetry(close(nil)))
    #expect(!policy.shouldRetry(close(4000)))
  }

  @Test func nothingAfterOurOwnCloseIsRetried() {
    let policy = ReconnectPolicy()
    let ours = CloseResult(
      received: CloseFrame(code: 1011, reason: []), initiatedLocally: true, error: .connectionLost("reset"),
      wasOpen: true)
    #expect(!policy.shouldRetry(ours))
  }
}
