import WebSocketProtocol

/// Why a connection ended badly, grouped as the exit codes of DESIGN.md §5 group them.
public enum WebSocketClientError: Error, Sendable, CustomStringConvertible {
  /// DNS failure, refused, unreachable (exit 3).
  case connectFailed(String)
  /// The proxy could not be reached, refused the tunnel or answered nonsense (exit 4).
  case proxy(String)
  /// TLS handshake or verification failure (exit 5).
  case tls(String)
  /// The opening handshake was rejected (exit 6).
  case handshake(ClientHandshake.ResponseError)
  /// A redirect could not be followed: a TLS downgrade, a loop, too many hops (exit 6).
  case redirect(String)
  /// The server broke RFC 6455 and we failed the connection with `closeCode` (exit 7).
  case protocolViolation(ProtocolError)
  /// The TCP connection ended without a closing handshake: 1006 (exit 8).
  case connectionLost(String)
  /// Connect, close or ping timeout (exit 9).
  case timeout(String)
  /// A local error: stdin, stdout or a file (exit 10).
  case local(String)

  public var description: String {
    switch self {
    case .connectFailed(let s): return s
    case .proxy(let s): return "proxy error: \(s)"
    case .tls(let s): return "TLS error: \(s)"
    case .handshake(let e): return e.description
    case .redirect(let s): return s
    case .protocolViolation(let e): return "protocol error: \(e.description) (closed with \(e.closeCode))"
    case .connectionLost(let s): return "connection lost: \(s) (1006)"
    case .timeout(let s): return "timed out \(s)"
    case .local(let s): return s
    }
  }
}

/// How the connection ended, delivered once through `onClose`.
public struct CloseResult: Sendable {
  /// The peer's Close frame, if one arrived.
  public var received: CloseFrame?
  /// Our Close frame, if we sent one.
  public var sent: CloseFrame?
  /// True when we sent our Close before the peer's arrived.
  public var initiatedLocally: Bool
  /// The failure, if the connection did not end with a closing handshake.
  public var error: WebSocketClientError?
  /// Whether the WebSocket was ever open (the handshake succeeded).
  public var wasOpen: Bool

  public init(
    received: CloseFrame? = nil, sent: CloseFrame? = nil, initiatedLocally: Bool = false,
    error: WebSocketClientError? = nil, wasOpen: Bool
  ) {
    self.received = received
    self.sent = sent
    self.initiatedLocally = initiatedLocally
    self.error = error
    self.wasOpen = wasOpen
  }

  /// The close code as a browser reports it (`CloseEvent.code`): the peer's code, 1005
  /// when its Close had none, 1006 when there was no closing handshake.
  public var code: UInt16 {
    if let received { return received.code ?? CloseCode.noStatusReceived }
    if case .protocolViolation(let e) = error { return e.closeCode }
    return CloseCode.abnormalClosure
  }

  /// True when the closing handshake completed (`CloseEvent.wasClean`).
  public var wasClean: Bool { error == nil && received != nil && sent != nil }
}
