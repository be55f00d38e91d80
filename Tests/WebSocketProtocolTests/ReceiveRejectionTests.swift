import Testing
import WebSocketProtocol

/// One bad input, the error it must cause, and the close code sent for it.
struct RejectionVector: Sendable, CustomTestStringConvertible {
  var name: String
  var input: [UInt8]
  var error: ProtocolError
  var code: UInt16
  /// Whether `FrameDecoder` alone must detect it (header-level errors).
  var decoderLevel: Bool

  var testDescription: String { name }

  init(_ name: String, _ input: [UInt8], _ error: ProtocolError, _ code: UInt16, decoderLevel: Bool = false) {
    self.name = name
    self.input = input
    self.error = error
    self.code = code
    self.decoderLevel = decoderLevel
  }
}

/// Feeds `vector` every way and checks the failure, and the decoder's verdict for header errors.
private func check(_ vector: RejectionVector, everySplit: Bool = true) throws {
  let outcome = feedAllWays(vector.input, everySplit: everySplit)
  try expectFailed(outcome, with: vector.error, code: vector.code)
  #expect(outcome.deliveredMessages.isEmpty)
  if vector.decoderLevel {
    #expect(decodeAllWays(vector.input, everySplit: everySplit).error == vector.error)
  }
}

@Suite("RFC 6455 §5.1 and §5.2: rejected frame headers")
struct HeaderRejectionTests {
  static let vectors: [RejectionVector] = [
    RejectionVector(
      "masked server frame (§5.1)", hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), .unexpectedMask(masked: true),
      1002,
      decoderLevel: true),
    RejectionVector(
      "RSV1 c1 05 Hello", hex("c1 05") + ascii("Hello"), .reservedBitsSet(0x40), 1002, decoderLevel: true),
    RejectionVector(
      "RSV2 a1 05 Hello", hex("a1 05") + ascii("Hello"), .reservedBitsSet(0x20), 1002, decoderLevel: true),
    RejectionVector(
      "RSV3 91 05 Hello", hex("91 05") + ascii("Hello"), .reservedBitsSet(0x10), 1002, decoderLevel: true),
    RejectionVector(
      "all RSV f1 05 Hello", hex("f1 05") + ascii("Hello"), .reservedBitsSet(0x70), 1002, decoderLevel: true),
    RejectionVector("RSV1 on a ping c9 00", hex("c9 00"), .reservedBitsSet(0x40), 1002, decoderLevel: true),
    RejectionVector("reserved opcode 0x3", hex("83 00"), .reservedOpcode(0x3), 1002, decoderLevel: true),
    RejectionVector("reserved opcode 0x7", hex("87 00"), .reservedOpcode(0x7), 1002, decoderLevel: true),
    RejectionVector("reserved opcode 0xB", hex("8b 00"), .reservedOpcode(0xB), 1002, decoderLevel: true),
    RejectionVector("reserved opcode 0xF", hex("8f 00"), .reservedOpcode(0xF), 1002, decoderLevel: true),
    RejectionVector(
      "64-bit length with the MSB set", hex("82 7f 80 00 00 00 00 00 00 00"), .lengthOverflow, 1002,
      decoderLevel: true),
    RejectionVector(
      "64-bit length all ones", hex("82 7f ff ff ff ff ff ff ff ff"), .lengthOverflow, 1002,
      decoderLevel: true),
    RejectionVector(
      "non-minimal 16-bit length 81 7e 00 05 Hello", hex("81 7e 00 05") + ascii("Hello"), .nonMinimalLength,
      1002,
      decoderLevel: true),
    RejectionVector(
      "non-minimal 64-bit length for 65535 bytes", hex("82 7f 00 00 00 00 00 00 ff ff"), .nonMinimalLength,
      1002,
      decoderLevel: true),
    RejectionVector(
      "declared length 2^40 (§10.4)", hex("82 7f 00 00 01 00 00 00 00 00"), .messageTooBig(limit: 64 << 20),
      1009,
      decoderLevel: true),
    RejectionVector(
      "ping of 126 bytes (§5.5)", hex("89 7e 00 7e") + [UInt8](repeating: 0x61, count: 126),
      .controlFrameTooLong(126), 1002, decoderLevel: true),
    RejectionVector(
      "fragmented ping 09 02 68 69 (§5.5)", hex("09 02 68 69"), .fragmentedControlFrame, 1002,
      decoderLevel: true),
    RejectionVector(
      "fragmented close 08 00 (§5.5)", hex("08 00"), .fragmentedControlFrame, 1002, decoderLevel: true),
  ]

  @Test("each vector fails the connection with the right code", arguments: vectors)
  func rejected(vector: RejectionVector) throws {
    try check(vector)
  }

  @Test("header errors are reported from the header bytes alone, before any payload")
  func failsFromHeader() throws {
    // Only the header bytes, no payload and no mask key.
    let headers: [([UInt8], ProtocolError)] = [
      (hex("c1"), .reservedBitsSet(0x40)),
      (hex("83"), .reservedOpcode(3)),
      (hex("09"), .fragmentedControlFrame),
      (hex("81 85"), .unexpectedMask(masked: true)),
      (hex("89 7e"), .controlFrameTooLong(126)),
      (hex("82 7f 80 00 00 00 00 00 00 00"), .lengthOverflow),
      (hex("82 7f 00 00 01 00 00 00 00 00"), .messageTooBig(limit: 64 << 20)),
      (hex("81 7e 00 05"), .nonMinimalLength),
    ]
    for (bytes, error) in headers {
      #expect(feed(bytes.map { [$0] }).failure == error, "\(bytes)")
      #expect(decodeFrames([bytes]).error == error, "\(bytes)")
    }
  }

  @Test("2^40 declared length: 1009 at once with a small configured limit, nothing buffered")
  func hugeDeclaredLength() throws {
    let outcome = feed([hex("82 7f 00 00 01 00 00 00 00 00")], configuration: .init(maxMessageSize: 1 << 20))
    try expectFailed(outcome, with: .messageTooBig(limit: 1 << 20), code: 1009)
  }

  @Test("a server-role connection rejects unmasked client frames (§5.1)")
  func unmaskedToServer() throws {
    let outcome = feedAllWays(hex("81 05") + ascii("Hello"), role: .server)
    #expect(outcome.failure == .unexpectedMask(masked: false))
    #expect(outcome.state == .failed)
    let sent = try sentFrames(outcome.outgoing, by: .server)
    #expect(sent.map(closeCode) == [1002])
    #expect(sent.first?.header.maskKey == nil)
  }
}

@Suite("RFC 6455 §5.4 fragmentation")
struct FragmentationTests {
  @Test(
    "out-of-order fragments fail with 1002",
    arguments: [
      RejectionVector(
        "continuation without a start 80 05 Hello", hex("80 05") + ascii("Hello"), .unexpectedContinuation,
        1002),
      RejectionVector(
        "new text inside a fragmented message 01 03 Hel + 81 02 lo",
        hex("01 03") + ascii("Hel") + hex("81 02") + ascii("lo"), .expectedContinuation, 1002),
      RejectionVector(
        "new binary inside a fragmented text message", hex("01 01 61 82 00"), .expectedContinuation, 1002),
      RejectionVector(
        "continuation after a complete message", hex("81 01 61 80 01 62"), .unexpectedContinuation, 1002),
    ])
  func outOfOrder(vector: RejectionVector) throws {
    let outcome = feedAllWays(vector.input)
    try expectFailed(outcome, with: vector.error, code: vector.code)
    // A message completed before the bad frame is still delivered (R1).
    if vector.input.starts(with: hex("81 01 61")) {
      #expect(outcome.events.first == textMessage("a"))
    } else {
      #expect(outcome.deliveredMessages.isEmpty)
    }
  }

  @Test("control frames between fragments: 01 03 Hel + 89 00 + 80 02 lo → Pong, then \"Hello\" (§5.4)")
  func controlBetweenFragments() throws {
    let outcome = feedAllWays(hex("01 03 48 65 6c") + hex("89 00") + hex("80 02 6c 6f"))
    #expect(outcome.events == [.ping([]), textMessage("Hello")])
    let sent = try sentFrames(outcome.outgoing)
    #expect(sent.map(\.header.opcode) == [.pong])
    #expect(sent.first?.payload == [])
  }

  @Test("empty frames and messages are valid: 81 00 and 01 00 00 00 80 00")
  func emptyFrames() {
    #expect(feedAllWays(hex("81 00")).events == [textMessage("")])
    #expect(feedAllWays(hex("82 00")).events == [binaryMessage([])])
    let outcome = feedAllWays(hex("01 00 00 00 80 00"))
    #expect(outcome.events == [textMessage("")])
    #expect(outcome.outgoing.isEmpty)
    #expect(decodeAllWays(hex("01 00 00 00 80 00")).frames.count == 3)
  }

  @Test("\"κόσμε\" sent one byte per frame, with pings interleaved, arrives intact (§8.1, Autobahn 6.2.4)")
  func utf8OneBytePerFrame() throws {
    // The Autobahn 6.x sample: κ ό (U+1F79, 3 bytes) σ μ ε.
    let utf8 = hex("ce ba e1 bd b9 cf 83 ce bc ce b5")
    let text = String(decoding: utf8, as: UTF8.self)
    #expect(text.unicodeScalars.count == 5)
    var input: [UInt8] = []
    for (i, b) in utf8.enumerated() {
      let opcode: UInt8 = i == 0 ? 0x01 : 0x00
      let fin: UInt8 = i == utf8.count - 1 ? 0x80 : 0
      input += [fin | opcode, 0x01, b]
      if i % 3 == 1 { input += hex("89 01") + [UInt8(i)] }
    }
    let outcome = feedAllWays(input)
    #expect(outcome.deliveredMessages == [Message(kind: .text, data: utf8)])
    #expect(outcome.events == [.ping([1]), .ping([4]), .ping([7]), textMessage(text), .ping([10])])
    let pongs = try sentFrames(outcome.outgoing)
    #expect(pongs.map(\.header.opcode) == [Opcode](repeating: .pong, count: 4))
    #expect(pongs.map(\.payload) == [[1], [4], [7], [10]])
  }

  /// `01 01 61` followed by `count - 1` × `00 01 61`, the last one with FIN when `fin`.
  static func oneByteFragments(_ count: Int, fin: Bool) -> [UInt8] {
    var input = hex("01 01 61")
    input.reserveCapacity(3 * count)
    for i in 1..<count { input += [fin && i == count - 1 ? 0x80 : 0x00, 0x01, 0x61] }
    return input
  }

  @Test("100,001 one-byte fragments fail with tooManyFragments and 1009 (§10.4)")
  func tooManyFragments() throws {
    let input = Self.oneByteFragments(100_001, fin: true)
    let whole = feed([input])
    try expectFailed(whole, with: .tooManyFragments(limit: 100_000), code: 1009)
    #expect(whole.deliveredMessages.isEmpty)
    let chunks = stride(from: 0, to: input.count, by: 1000).map {
      Array(input[$0..<min($0 + 1000, input.count)])
    }
    #expect(feed(chunks) == whole)
    // It fails at the header of fragment 100,001, before its payload byte.
    #expect(feed([Array(input.dropLast())]) == whole)
    // The ws GHSA-96hv-2xvq-fx4p shape: 131,071 fragments that never finish.
    #expect(feed([Self.oneByteFragments(131_071, fin: false)]).failure == .tooManyFragments(limit: 100_000))
  }

  @Test("exactly 100,000 one-byte fragments make one message")
  func maxFragmentsAccepted() {
    let outcome = feed([Self.oneByteFragments(100_000, fin: true)])
    #expect(outcome.failure == nil)
    #expect(outcome.events == [textMessage(String(repeating: "a", count: 100_000))])
  }
}

@Suite("RFC 6455 §5.5 control frames: Ping and Pong")
struct PingPongTests {
  @Test("Ping 89 04 00 ff 80 7f → Pong with an identical payload (§5.5.2)")
  func pongEchoesPayload() throws {
    let outcome = feedAllWays(hex("89 04 00 ff 80 7f"))
    #expect(outcome.events == [.ping(hex("00 ff 80 7f"))])
    let sent = try sentFrames(outcome.outgoing)
    #expect(sent.count == 1)
    #expect(sent.first?.header.opcode == .pong)
    #expect(sent.first?.header.fin == true)
    #expect(sent.first?.payload == hex("00 ff 80 7f"))
  }

  @Test("a 125-byte Ping is answered with a 125-byte Pong")
  func maximalPing() throws {
    let payload = (0..<125).map { UInt8($0) }
    let outcome = feedAllWays(hex("89 7d") + payload, everySplit: false)
    #expect(try sentFrames(outcome.outgoing).map(\.payload) == [payload])
  }

  @Test("an unsolicited Pong is reported and otherwise ignored (§5.5.3): 8a 00")
  func unsolicitedPong() {
    let outcome = feedAllWays(hex("8a 00") + hex("8a 02 68 69") + hex("81 02 6f 6b"))
    #expect(outcome.events == [.pong([]), .pong(ascii("hi")), textMessage("ok")])
    #expect(outcome.outgoing.isEmpty)
    #expect(outcome.state == .open)
  }

  @Test("several Pings are each answered, in order")
  func severalPings() throws {
    let outcome = feedAllWays(hex("89 01 31 89 01 32 89 00"))
    #expect(try sentFrames(outcome.outgoing).map(\.payload) == [ascii("1"), ascii("2"), []])
  }
}

@Suite("RFC 6455 §8.1 UTF-8 in received text")
struct ReceivedUTF8Tests {
  @Test(
    "invalid UTF-8 fails with 1007",
    arguments: [
      RejectionVector("0xff", hex("81 01 ff"), .invalidUTF8, 1007),
      RejectionVector("surrogate ed a0 80", hex("81 03 ed a0 80"), .invalidUTF8, 1007),
      RejectionVector("overlong c0 af", hex("81 02 c0 af"), .invalidUTF8, 1007),
      RejectionVector("above U+10FFFF f4 90 80 80", hex("81 04 f4 90 80 80"), .invalidUTF8, 1007),
      RejectionVector("truncated at the end ce ba e1 bd", hex("81 04 ce ba e1 bd"), .invalidUTF8, 1007),
      RejectionVector("lone continuation 80", hex("81 01 80"), .invalidUTF8, 1007),
      RejectionVector("truncated across fragments", hex("01 01 ce 80 00"), .invalidUTF8, 1007),
      RejectionVector(
        "close reason not UTF-8 88 04 03 e8 ff fe", hex("88 04 03 e8 ff fe"), .invalidUTF8, 1007),
    ])
  func invalid(vector: RejectionVector) throws {
    try check(vector)
  }

  @Test("fail fast: a bad byte in the first fragment fails before the last fragment arrives (§8.1)")
  func failFast() throws {
    let first = hex("01 05 48 65 ff 6c 6f")
    let last = hex("80 02 6c 6f")
    try expectFailed(feed([first]), with: .invalidUTF8, code: 1007)
    // Even inside the frame: the bytes up to and including 0xff are enough.
    try expectFailed(feed([Array(first.prefix(5))]), with: .invalidUTF8, code: 1007)
    try expectFailed(feed(first.prefix(5).map { [$0] }), with: .invalidUTF8, code: 1007)
    // And the last fragment changes nothing afterwards.
    #expect(feed([first, last]) == feed([first]))
    // An overlong lead byte is caught at once as well, not at the end of the message.
    try expectFailed(feed([hex("01 02 c0")]), with: .invalidUTF8, code: 1007)
  }

  @Test("a text message split inside a character across fragments is accepted")
  func splitCharacter() {
    // "€" = e2 82 ac, split 1 + 2 and 2 + 1.
    #expect(feedAllWays(hex("01 01 e2 80 02 82 ac")).events == [textMessage("€")])
    #expect(feedAllWays(hex("01 02 e2 82 80 01 ac")).events == [textMessage("€")])
  }

  @Test("binary messages are not checked for UTF-8")
  func binaryNotChecked() {
    #expect(feedAllWays(hex("82 02 ff fe")).events == [binaryMessage([0xFF, 0xFE])])
  }
}

@Suite("RFC 6455 §7.1.7 failing the connection")
struct FailTheConnectionTests {
  @Test("after a failure nothing more is processed: 83 00 + 81 05 Hello → no message (M4)")
  func nothingAfterFail() throws {
    let outcome = feedAllWays(hex("83 00") + hex("81 05") + ascii("Hello"))
    try expectFailed(outcome, with: .reservedOpcode(3), code: 1002)
    #expect(outcome.events == [.failed(.reservedOpcode(3))])
  }

  @Test("later receive calls after a failure are ignored")
  func laterCallsIgnored() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 1))
    connection.receive(hex("83 00"))
    _ = connection.takeEvents()
    let close = connection.takeOutgoing()
    connection.receive(hex("81 05") + ascii("Hello") + hex("89 00") + hex("88 02 03 e8"))
    #expect(connection.takeEvents().isEmpty)
    #expect(connection.takeOutgoing().isEmpty)
    #expect(connection.state == .failed)
    #expect(try sentFrames(close).map(closeCode) == [1002])
    // Sending is refused too.
    #expect(throws: UsageError.connectionClosing) { try connection.send(.text, ascii("x")) }
  }

  @Test("a message received before a protocol error in the same buffer is still delivered (R1)")
  func messageBeforeErrorDelivered() throws {
    let outcome = feedAllWays(hex("81 02 6f 6b") + hex("c1 05") + ascii("Hello"))
    #expect(outcome.events == [textMessage("ok"), .failed(.reservedBitsSet(0x40))])
    try expectFailed(outcome, with: .reservedBitsSet(0x40), code: 1002)
    // Autobahn 3.2 / 4.1.3 / 5.15 shapes: a ping before a bad frame is answered too.
    let withPing = feedAllWays(hex("81 02 6f 6b 89 00 83 00"))
    #expect(withPing.events == [textMessage("ok"), .ping([]), .failed(.reservedOpcode(3))])
    #expect(try sentFrames(withPing.outgoing).map(\.header.opcode) == [.pong, .close])
  }

  @Test("receiveSome stops after each message, so a reply can go out before a later failure (R1)")
  func receiveSomeStopsAfterMessage() throws {
    let input = hex("81 02 6f 6b") + hex("c1 05") + ascii("Hello")
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 1))
    let used = input.withUnsafeBytes { connection.receiveSome($0) }
    #expect(used == 4)
    #expect(connection.takeEvents() == [textMessage("ok")])
    #expect(connection.state == .open && connection.outgoingCount == 0)
    try connection.send(.text, ascii("ok"))
    let rest = Array(input[used...])
    _ = rest.withUnsafeBytes { connection.receiveSome($0) }
    #expect(connection.takeEvents() == [.failed(.reservedBitsSet(0x40))])
    // The echo precedes the Close on the wire.
    let sent = try sentFrames(connection.takeOutgoing())
    #expect(sent.map(\.header.opcode) == [.text, .close])
    #expect(sent.last.flatMap(closeCode) == 1002)
  }

  @Test("looping over receiveSome gives the same events as receive, whole and byte by byte")
  func receiveSomeLoop() {
    let input =
      hex("81 00") + hex("01 03 48 65 6c 89 00 80 02 6c 6f") + hex("8a 01 78") + hex("82 7e 00 80")
      + [UInt8](repeating: 9, count: 128) + hex("88 02 03 e8") + hex("81 01 78")
    let expected = feed([input]).events
    #expect(expected.count == 6)
    for (name, chunks) in choppings(input, everySplit: false) {
      var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 42))
      var events: [WebSocketEvent] = []
      var calls = 0
      for chunk in chunks {
        chunk.withUnsafeBytes { raw in
          var index = 0
          repeat {
            let used = connection.receiveSome(UnsafeRawBufferPointer(rebasing: raw[index...]))
            #expect(used >= 0 && index + used <= raw.count)
            index += used
            calls += 1
            let new = connection.takeEvents()
            #expect(new.count <= 1, "more than one event from one receiveSome call")
            events += new
          } while index < raw.count && connection.isReading
        }
      }
      #expect(events == expected, "\(name)")
      #expect(calls >= chunks.count)
    }
  }
}

@Suite("RFC 6455 §10.4 message size limits")
struct MessageSizeLimitTests {
  static let configuration = WebSocketConnection.Configuration(maxMessageSize: 1000)

  @Test("a single frame over maxMessageSize fails with 1009 from the header")
  func singleFrameTooBig() throws {
    let input = hex("82 7e 03 e9") + [UInt8](repeating: 0, count: 1001)
    try expectFailed(
      feed([input], configuration: Self.configuration), with: .messageTooBig(limit: 1000), code: 1009)
    try expectFailed(
      feed([Array(input.prefix(4))], configuration: Self.configuration), with: .messageTooBig(limit: 1000),
      code: 1009)
  }

  @Test("fragments adding up to more than maxMessageSize fail with 1009 at the offending header")
  func fragmentsTooBig() throws {
    let first = hex("01 7e 01 f4") + [UInt8](repeating: 0x61, count: 500)
    let second = hex("80 7e 01 f5")
    let outcome = feed([first + second], configuration: Self.configuration)
    try expectFailed(outcome, with: .messageTooBig(limit: 1000), code: 1009)
    #expect(outcome.deliveredMessages.isEmpty)
  }

  @Test("a message of exactly maxMessageSize is accepted, whole or fragmented")
  func exactlyMaxAccepted() {
    let single = hex("82 7e 03 e8") + [UInt8](repeating: 7, count: 1000)
    #expect(
      feed([single], configuration: Self.configuration).events == [
        binaryMessage([UInt8](repeating: 7, count: 1000))
      ])
    let fragmented =
      hex("01 7e 01 f4") + [UInt8](repeating: 0x61, count: 500) + hex("80 7e 01 f4")
      + [UInt8](repeating: 0x61, count: 500)
    let outcome = feed([fragmented], configuration: Self.configuration)
    #expect(outcome.failure == nil)
    #expect(outcome.events == [textMessage(String(repeating: "a", count: 1000))])
  }

  @Test("the message limit does not shrink control frames below 125 bytes")
  func smallLimitKeepsControlFrames() throws {
    let configuration = WebSocketConnection.Configuration(maxMessageSize: 10)
    let payload = [UInt8](repeating: 1, count: 125)
    let outcome = feed([hex("89 7d") + payload], configuration: configuration)
    #expect(outcome.events == [.ping(payload)])
    try expectFailed(
      feed([hex("81 0b") + ascii("hello world")], configuration: configuration),
      with: .messageTooBig(limit: 10),
      code: 1009)
  }
}
