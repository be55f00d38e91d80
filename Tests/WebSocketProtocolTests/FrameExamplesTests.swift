import Testing
import WebSocketProtocol

/// The examples of RFC 6455 §5.7, each fed whole, byte by byte and (for the small ones) at
/// every split point, through both `WebSocketConnection.receive` and `FrameDecoder`.
@Suite("RFC 6455 §5.7 examples")
struct FrameExamplesTests {
  static let hello = ascii("Hello")
  static let helloKey = MaskKey(0x37, 0xFA, 0x21, 0x3D)

  @Test("a single-frame unmasked text message: 81 05 48 65 6c 6c 6f")
  func unmaskedText() {
    let input = hex("81 05 48 65 6c 6c 6f")
    let outcome = feedAllWays(input)
    #expect(outcome.events == [textMessage("Hello")])
    #expect(outcome.outgoing.isEmpty)
    #expect(outcome.state == .open)

    let decoded = decodeAllWays(input)
    #expect(decoded.error == nil)
    #expect(
      decoded.frames == [Frame(header: FrameHeader(opcode: .text, payloadLength: 5), payload: Self.hello)])
  }

  @Test("a single-frame masked text message is decoded by a server: 81 85 37 fa 21 3d 7f 9f 4d 51 58")
  func maskedTextServerRole() {
    let input = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    let outcome = feedAllWays(input, role: .server)
    #expect(outcome.events == [textMessage("Hello")])
    #expect(outcome.outgoing.isEmpty)

    let decoded = decodeAllWays(input, role: .server)
    #expect(decoded.error == nil)
    #expect(
      decoded.frames == [
        Frame(
          header: FrameHeader(opcode: .text, maskKey: Self.helloKey, payloadLength: 5), payload: Self.hello)
      ])
  }

  @Test("the masked example is rejected by a client: unexpectedMask, Close 1002 (§5.1)")
  func maskedTextClientRole() throws {
    let input = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    let outcome = feedAllWays(input)
    try expectFailed(outcome, with: .unexpectedMask(masked: true), code: 1002)
    #expect(outcome.deliveredMessages.isEmpty)
    // The mask bit is in the second byte: the client fails before reading the key or payload.
    #expect(feed([Array(input.prefix(2))]).failure == .unexpectedMask(masked: true))

    let decoded = decodeAllWays(input)
    #expect(decoded == Decoded(frames: [], error: .unexpectedMask(masked: true)))
  }

  @Test("a fragmented unmasked text message: 01 03 48 65 6c + 80 02 6c 6f")
  func fragmentedText() {
    let input = hex("01 03 48 65 6c") + hex("80 02 6c 6f")
    let outcome = feedAllWays(input)
    #expect(outcome.events == [textMessage("Hello")])
    #expect(outcome.outgoing.isEmpty)

    let decoded = decodeAllWays(input)
    #expect(decoded.error == nil)
    #expect(
      decoded.frames == [
        Frame(header: FrameHeader(fin: false, opcode: .text, payloadLength: 3), payload: ascii("Hel")),
        Frame(header: FrameHeader(opcode: .continuation, payloadLength: 2), payload: ascii("lo")),
      ])
  }

  @Test("an unmasked Ping: 89 05 Hello → a masked Pong with the same payload")
  func unmaskedPing() throws {
    let input = hex("89 05") + Self.hello
    let outcome = feedAllWays(input)
    #expect(outcome.events == [.ping(Self.hello)])
    #expect(outcome.state == .open)
    let sent = try sentFrames(outcome.outgoing)
    #expect(sent.count == 1)
    #expect(sent.first?.header.opcode == .pong)
    #expect(sent.first?.header.maskKey != nil)
    #expect(sent.first?.payload == Self.hello)

    let decoded = decodeAllWays(input)
    #expect(
      decoded.frames == [Frame(header: FrameHeader(opcode: .ping, payloadLength: 5), payload: Self.hello)])
  }

  @Test("a masked Pong: 8a 85 37 fa 21 3d 7f 9f 4d 51 58, decoded by a server")
  func maskedPong() {
    let input = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
    let outcome = feedAllWays(input, role: .server)
    #expect(outcome.events == [.pong(Self.hello)])
    #expect(outcome.outgoing.isEmpty)

    let decoded = decodeAllWays(input, role: .server)
    #expect(
      decoded.frames == [
        Frame(
          header: FrameHeader(opcode: .pong, maskKey: Self.helloKey, payloadLength: 5), payload: Self.hello)
      ])
  }

  @Test("256 bytes of binary data in one unmasked frame: 82 7E 01 00 …")
  func binary256() {
    let payload = (0..<256).map { UInt8($0) }
    let input = hex("82 7E 01 00") + payload
    let outcome = feedAllWays(input)
    #expect(outcome.events == [binaryMessage(payload)])
    #expect(outcome.outgoing.isEmpty)

    let decoded = decodeAllWays(input)
    #expect(decoded.error == nil)
    #expect(
      decoded.frames == [Frame(header: FrameHeader(opcode: .binary, payloadLength: 256), payload: payload)])
  }

  @Test("64 KiB of binary data in one unmasked frame: 82 7F 00 00 00 00 00 01 00 00 …")
  func binary64KiB() {
    let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    let input = hex("82 7F 00 00 00 00 00 01 00 00") + payload
    let outcome = feedAllWays(input, everySplit: false)
    #expect(outcome.events == [binaryMessage(payload)])
    #expect(outcome.outgoing.isEmpty)
    // Splits inside the 10-byte header, at its end, and just before the last payload byte.
    for split in Array(1...11) + [input.count / 2, input.count - 1] {
      let chunks = [Array(input[..<split]), Array(input[split...])]
      #expect(feed(chunks) == outcome, "split at \(split)")
      #expect(decodeFrames(chunks).frames.first?.payload == payload, "split at \(split)")
    }

    let decoded = decodeAllWays(input, everySplit: false)
    #expect(decoded.error == nil)
    #expect(
      decoded.frames == [Frame(header: FrameHeader(opcode: .binary, payloadLength: 65536), payload: payload)])
  }

  @Test("a masked 64 KiB frame unmasks at every phase when fed in odd-sized chunks")
  func masked64KiBChunks() {
    let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let input = frameBytes(.binary, payload, key: MaskKey(0xA1, 0xB2, 0xC3, 0xD4))
    let expected = [binaryMessage(payload)]
    for size in [1, 3, 5, 7, 13, 4093] {
      let chunks = stride(from: 0, to: input.count, by: size).map {
        Array(input[$0..<min($0 + size, input.count)])
      }
      #expect(feed(chunks, role: .server).events == expected, "chunks of \(size)")
      #expect(decodeFrames(chunks, role: .server).frames.first?.payload == payload, "chunks of \(size)")
    }
  }

  @Test("all the examples back to back in one stream")
  func concatenated() {
    let input =
      hex("81 05 48 65 6c 6c 6f") + hex("01 03 48 65 6c") + hex("80 02 6c 6f") + hex("89 05") + Self.hello
      + hex("82 7E 01 00") + (0..<256).map { UInt8($0) }
    let outcome = feedAllWays(input, everySplit: true)
    #expect(
      outcome.events == [
        textMessage("Hello"), textMessage("Hello"), .ping(Self.hello),
        binaryMessage((0..<256).map { UInt8($0) }),
      ])
    #expect(decodeAllWays(input).frames.count == 5)
  }
}
