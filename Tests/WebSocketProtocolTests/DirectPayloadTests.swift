import Testing
import WebSocketProtocol

/// Drives a connection as `WebSocketPeer` does when a large message arrives: the first read
/// goes through `receiveSome`, the rest of the payload is read straight into the message's
/// buffer in pieces of `step` bytes. Records lent messages and events in order.
private func receiveDirectly(
  _ input: [UInt8], firstRead: Int, step: Int, role: Role = .client,
  configuration: WebSocketConnection.Configuration = .init()
) -> (outcome: Outcome, directBytes: Int) {
  var connection = WebSocketConnection(role: role, configuration: configuration, random: SplitMix64(seed: 7))
  let recorder = EventRecorder()
  let handler = recorder.handler
  var directBytes = 0
  recorder.receive(Array(input[..<min(firstRead, input.count)]), into: &connection)
  var position = min(firstRead, input.count)
  // Bounded: each round takes at least one byte of the input.
  while position < input.count {
    let wanted = connection.directPayloadRemaining
    if wanted > 0 {
      let n = min(step, wanted, input.count - position)
      connection.receivePayloadDirectly(onMessage: handler) { space in
        #expect(space.count == wanted)
        input.withUnsafeBytes {
          space.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + n]))
        }
        return n
      }
      directBytes += n
      position += n
      recorder.events += connection.takeEvents()
    } else {
      let end = min(position + step, input.count)
      recorder.receive(Array(input[position..<end]), into: &connection)
      position = end
    }
  }
  return (
    Outcome(
      events: recorder.events, outgoing: connection.takeOutgoing(), state: connection.state,
      failure: connection.failure),
    directBytes
  )
}

@Suite("RFC 6455 §5.6: a large message read straight into its buffer")
struct DirectPayloadTests {
  static let large = [UInt8]((0..<200_000).map { UInt8(ascii: "a") + UInt8($0 % 26) })

  @Test(
    "text and binary arrive whole and equal to the event path, in any piece size",
    arguments: [1, 7, 4096, 1 << 20])
  func sameMessage(step: Int) {
    for opcode in [Opcode.text, .binary] {
      let input = frameBytes(opcode, Self.large) + frameBytes(.text, ascii("after"))
      let reference = feed([input])
      let (outcome, direct) = receiveDirectly(input, firstRead: 1000, step: step)
      #expect(outcome == reference, "\(opcode) in pieces of \(step)")
      #expect(direct > 0, "the payload was read in place")
      #expect(outcome.deliveredMessages.count == 2)
    }
  }

  @Test("§8.1: invalid UTF-8 in the middle fails at once with 1007, before the rest arrives")
  func invalidTextFailsFast() throws {
    var payload = Self.large
    payload[100_000] = 0xFF
    let input = frameBytes(.text, payload)
    // Stop feeding right after the bad byte: the failure must already be there.
    let (outcome, _) = receiveDirectly(Array(input[..<(input.count - 99_000)]), firstRead: 1000, step: 4096)
    try expectFailed(outcome, with: .invalidUTF8, code: 1007)
    #expect(outcome.deliveredMessages.isEmpty)
  }

  @Test("no direct reads for fragments, masked input, traced frames or small frames")
  func notEligible() {
    let cases: [(String, [UInt8], Role, WebSocketConnection.Configuration)] = [
      ("first fragment", frameBytes(.text, Self.large, fin: false), .client, .init()),
      ("masked (server role)", frameBytes(.binary, Self.large, key: MaskKey(1, 2, 3, 4)), .server, .init()),
      ("traced", frameBytes(.binary, Self.large), .client, .init(traceFrames: true)),
      ("small", frameBytes(.binary, [UInt8](repeating: 1, count: 60_000)), .client, .init()),
    ]
    for (name, input, role, configuration) in cases {
      var connection = WebSocketConnection(
        role: role, configuration: configuration, random: SplitMix64(seed: 1))
      connection.receive(Array(input[..<1000]))
      #expect(connection.directPayloadRemaining == 0, "\(name)")
    }
  }

  @Test("the size limit is checked from the header, before any buffer is made")
  func tooBig() throws {
    let input = frameBytes(.binary, Self.large)
    let (outcome, direct) = receiveDirectly(
      input, firstRead: 1000, step: 4096, configuration: .init(maxMessageSize: 100_000))
    try expectFailed(outcome, with: .messageTooBig(limit: 100_000), code: 1009)
    #expect(direct == 0)
  }
}
