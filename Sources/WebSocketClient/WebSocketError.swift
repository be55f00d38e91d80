import WebSocketProtocol

/// The failures of the async `WebSocket` API that are not the client's own
/// (`WebSocketClientError`: connect, TLS, handshake, protocol violations, a lost connection).
public enum WebSocketError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The server ended the connection with a Close whose code is neither 1000 (normal) nor
  /// 1001 (going away), or that carried no code (1005): the application said something went
  /// wrong (RFC 6455 §7.4.1), so `messages` reports it instead of just ending.
  case closedByServer(CloseFrame)
  /// The connection is closing or closed, so it takes no more messages: no data frame may
  /// follow a Close (RFC 6455 §5.5.1).
  case notOpen
  /// A text message whose payload is not UTF-8: the server would have to fail the
  /// connection with 1007 (RFC 6455 §8.1), so it is refused before it is sent.
  case invalidUTF8

  public var description: String {
    switch self {
    case .closedByServer(let frame): return "the server closed the connection (\(frame))"
    case .notOpen: return "the connection no longer accepts messages"
    case .invalidUTF8: return "a text message must be valid UTF-8"
    }
  }
}
