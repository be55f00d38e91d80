import WebSocketProtocol

/// When and how soon to connect again after a connection ended (`wsc --reconnect`).
///
/// Delays are exponential backoff with full jitter: attempt *n* waits a uniformly random
/// time in `[0, min(maxDelay, initialDelay · 2^(n-1))]`, so clients that lost the same
/// server do not come back in step. What is retried is what a restart or a network
/// blip causes; what the same request would only meet again is not (see `shouldRetry`).
public struct ReconnectPolicy: Sendable, Equatable {
  /// At most this many attempts in a row; nil for no limit.
  public var maxAttempts: Int?
  /// The ceiling of the first delay, in seconds.
  public var initialDelay: Double
  /// The largest ceiling, in seconds.
  public var maxDelay: Double
  /// A Close from the server with one of these codes ends the session (1005 stands for
  /// a Close without a code).
  public var stopCodes: Set<UInt16>
  /// A connection that stayed open at least this long starts the count (and the delays)
  /// over; one that closes sooner counts as a failed attempt, so a server that accepts
  /// and drops at once is not hammered.
  public var stableAfter: Double

  public init(
    maxAttempts: Int? = nil, initialDelay: Double = 0.5, maxDelay: Double = 30,
    stopCodes: Set<UInt16> = [CloseCode.normalClosure], stableAfter: Double = 1
  ) {
    self.maxAttempts = maxAttempts
    self.initialDelay = initialDelay
    self.maxDelay = maxDelay
    self.stopCodes = stopCodes
    self.stableAfter = stableAfter
  }

  /// The longest delay before attempt `attempt` (1, 2, …).
  public func ceiling(attempt: Int) -> Double {
    // 2^(n-1) overflows nothing: past 62 doublings the cap has long been reached.
    let doublings = Double(min(max(attempt - 1, 0), 62))
    return min(maxDelay, initialDelay * pow2(doublings))
  }

  /// The delay before attempt `attempt`, for `unit` drawn uniformly from [0, 1).
  public func delay(attempt: Int, unit: Double) -> Double {
    ceiling(attempt: attempt) * min(max(unit, 0), 1)
  }

  /// Whether the way a connection ended calls for another attempt.
  ///
  /// Retried: no TCP connection, a lost connection, a timeout (connect, handshake or
  /// keepalive), a proxy failure, an HTTP 5xx answer to the handshake, and a Close from
  /// the server with a code not in `stopCodes`. Not retried: anything after our own Close,
  /// a rejection (4xx and other non-101 answers), TLS and redirect failures, a protocol
  /// violation by the server, a local error.
  public func shouldRetry(_ result: CloseResult) -> Bool {
    if result.initiatedLocally { return false }
    if let error = result.error {
      switch error {
      case .connectFailed, .connectionLost, .timeout, .proxy: return true
      case .handshake(.unexpectedStatus(let status, _, _)): return status >= 500
      case .handshake, .tls, .redirect, .protocolViolation, .local: return false
      }
    }
    guard let received = result.received else { return false }
    return !stopCodes.contains(received.code ?? CloseCode.noStatusReceived)
  }

  private func pow2(_ n: Double) -> Double {
    var x = 1.0
    for _ in 0..<Int(n) { x *= 2 }
    return x
  }
}
