import WebSocketProtocol

/// Messages of one kind laid end to end in one buffer, to be queued with a single
/// `WebSocketPeer.send(_:batch:)`: one allocation and one lock for a whole read of
/// stdin instead of one per line (DESIGN.md §3, "no per-message allocation or thread hop").
public struct MessageBatch: Sendable {
  /// The messages' bytes, end to end (a `ByteQueue`: an array's append cost more than
  /// copying a 64-byte line, B4 in Docs/Performance.md).
  private var bytes = ByteQueue()
  /// Where each message ends in `bytes`.
  public private(set) var ends: [Int] = []

  public init() {}

  public var isEmpty: Bool { ends.isEmpty }

  /// The messages' bytes in all.
  public var byteCount: Int { bytes.count }

  /// Appends a copy of one message.
  public mutating func append(_ message: UnsafeRawBufferPointer) {
    bytes.append(message)
    ends.append(bytes.count)
  }

  /// Lends each message in turn to `body`, which returns false to stop.
  public func forEach(_ body: (UnsafeRawBufferPointer) -> Bool) {
    bytes.withUnsafeBytes { raw in
      var start = 0
      for end in ends {
        if !body(UnsafeRawBufferPointer(rebasing: raw[start..<end])) { return }
        start = end
      }
    }
  }
}
