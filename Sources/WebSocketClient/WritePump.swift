import WebSocketProtocol

/// Moves the protocol's encoded output to the transport until it is written or the
/// transport would block.
enum WritePump {
  /// How far a `flush` got.
  struct Outcome {
    /// Bytes are left: the transport would block.
    var blocked = false
    /// TLS: the write waits for the socket to become readable (a renegotiation or key
    /// update in progress), not writable.
    var wantsRead = false
    /// The transport failed or the peer closed it; nothing more can be written.
    var error: WebSocketClientError?
  }

  /// Writes what `connection` has to send; `peerName` names the peer in an error.
  static func flush(_ connection: inout WebSocketConnection, to transport: Transport, peerName: String)
    -> Outcome
  {
    var result = Outcome()
    while connection.outgoingCount > 0 {
      var outcome: IOResult = .done(0)
      connection.withOutgoing { bytes in
        outcome = transport.write(bytes)
        if case .done(let n) = outcome { return n }
        return 0
      }
      switch outcome {
      case .done: continue
      case .wouldBlock(let wantsWrite):
        result.blocked = true
        result.wantsRead = !wantsWrite
      case .eof: result.error = .connectionLost("the \(peerName) closed the connection")
      case .failed(let s): result.error = .connectionLost(s)
      }
      break
    }
    return result
  }
}
