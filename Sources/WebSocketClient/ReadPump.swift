import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads the socket into the protocol once `poll()` says there is something, up to 64
/// reads per wake-up, delivering as it goes (DESIGN.md §3).
///
/// Small frames go through one 256 KiB buffer. The payload of a large message is read
/// directly into that message's own buffer instead (`receivePayloadDirectly`), and right
/// after such a message only one frame header is read, so that a large message that
/// follows goes directly into its buffer too instead of its first 256 KiB being copied
/// there out of ours.
struct ReadPump {
  /// How a round of reads ended.
  enum Outcome {
    /// The socket is drained for now, or reading paused for back-pressure.
    case drained
    /// The peer ended TCP, or the transport failed: the loop ends.
    case ended
  }

  private let buffer = ReadBuffer(count: 256 * 1024)
  /// The largest message read directly so far: its size sets `SO_RCVBUF`.
  private var largestDirect = 0
  /// The last read completed a message read directly.
  private var afterDirect = false
  /// TLS: `SSL_read` needs the socket writable before it can go on.
  private(set) var wantsWrite = false

  /// Whether a round of reads is due after `poll()` returned `revents`: there is input,
  /// the TLS layer holds decrypted bytes, or a read that wanted writability can go on.
  /// Consumes the wants-write state.
  mutating func isDue(revents: Int16, reading: Bool, transport: Transport) -> Bool {
    let retry = wantsWrite && revents & Int16(POLLOUT) != 0
    wantsWrite = false
    return revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 || (reading && transport.hasBufferedInput)
      || retry
  }

  /// Reads until the socket is empty (then lets the application flush: `onIdle`), the
  /// peer ends, or replies the hooks queued pile up past `highWater`.
  mutating func run(
    _ connection: inout WebSocketConnection, _ transport: Transport, peer: WebSocketPeer,
    _ state: inout OpenLoopState, highWater: Int
  ) -> Outcome {
    for _ in 0..<64 {
      let direct = connection.directPayloadRemaining > 0
      let r =
        direct
        ? readDirectly(&connection, transport, onMessage: state.messageHandler) : readBuffered(transport)
      switch r {
      case .done(let n):
        if direct {
          afterDirect = connection.directPayloadRemaining == 0
          peer.deliver(&connection, &state)
          peer.encodeHookReplies(&connection, &state)
        } else {
          peer.receive(&connection, UnsafeRawBufferPointer(rebasing: buffer.bytes[..<n]), &state)
        }
        if peer.pendingReplyBytes >= highWater { return .drained }
      case .wouldBlock(let wantsWrite):
        self.wantsWrite = wantsWrite
        peer.onIdle?()
        return .drained
      case .eof:
        if !connection.receiveEOF() {
          state.transportError = .connectionLost(
            connection.sentClose == nil
              ? "the \(peer.peerName) closed the TCP connection without a Close frame"
              : "the \(peer.peerName) closed the TCP connection without answering our Close")
        }
        peer.onIdle?()
        return .ended
      case .failed(let s):
        if !connection.eofIsClean { state.transportError = .connectionLost(s) }
        connection.receiveEOF()
        peer.onIdle?()
        return .ended
      }
    }
    return .drained
  }

  /// A large message's payload, straight into its buffer.
  private mutating func readDirectly(
    _ connection: inout WebSocketConnection, _ transport: Transport,
    onMessage: @escaping WebSocketConnection.MessageHandler
  ) -> IOResult {
    let remaining = connection.directPayloadRemaining
    if remaining > largestDirect {
      largestDirect = remaining
      ReceiveBuffer.grow(transport.fileDescriptor, toHold: remaining)
    }
    var outcome: IOResult = .done(0)
    connection.receivePayloadDirectly(onMessage: onMessage) { space in
      outcome = transport.read(space)
      if case .done(let n) = outcome { return n }
      return 0
    }
    return outcome
  }

  /// Into our buffer: all of it, or right after a large message just one frame header.
  private mutating func readBuffered(_ transport: Transport) -> IOResult {
    let limit = afterDirect ? FrameHeader.maxSize : buffer.bytes.count
    afterDirect = false
    return transport.read(.init(rebasing: buffer.bytes.prefix(limit)))
  }
}
