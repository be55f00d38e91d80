import WebSocketProtocol

/// Messages of one kind laid end to end in one buffer, to be queued with a single
/// `WebSocketPeer.send(_:batch:)`: one allocation and one lock for a whole read of
/// stdin instead of one per line (DESIGN.md §3, "no per-message allocation or thread hop").
public struct MessageBatch: Sendable {
  /// The messages' bytes, end to end.
  public private(set) var bytes: [UInt8] = []
  /// Where each message ends in `bytes`.
  public private(set) var ends: [Int] = []

  public init() {}

  public var isEmpty: Bool { ends.isEmpty }

  /// Appends a copy of one message.
  public mutating func append(_ message: UnsafeRawBufferPointer) {
    bytes.append(contentsOf: message)
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
