import Testing

@testable import WebSocketProtocol

/// `FrameDecoder.smallDataFrame`, the shortcut a client takes for a whole small data frame
/// (issue 17), must agree with the full decoder on every input: random sequences of frames
/// that it takes (small final text and binary), that it must leave to `next` (masked, RSV
/// set, fragments, 16-bit lengths, control frames, invalid UTF-8, over the size limit), fed
/// whole and byte by byte, through the lending path and the event path (`feedAllWays`).
@Suite("RFC 6455 §5.2 small data frames: the shortcut agrees with the decoder")
struct SmallFrameFastPathTests {
  private static func randomFrame(_ rng: inout SplitMix64) -> [UInt8] {
    let text = Array("héllo wörld 🙂 and some more text".utf8)
    func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    switch rng.next() % 12 {
    case 0, 1, 2: return frameBytes(.text, Array(text.prefix(Int(rng.next() % UInt64(text.count + 1)))))
    case 3, 4: return frameBytes(.binary, bytes(Int(rng.next() % 126)))
    case 5: return frameBytes(.text, [0x61, 0xC3])  // cut inside a character: invalid
    case 6: return frameBytes(.text, text, key: MaskKey(1, 2, 3, 4))  // masked: a client refuses it
    case 7: return frameBytes(.text, text, rsv: 0x40)  // RSV1 with no extension
    case 8: return frameBytes(.text, Array(text.prefix(5)), fin: false) + frameBytes(.continuation, [0x21])
    case 9: return frameBytes(.binary, bytes(126 + Int(rng.next() % 200)))  // 16-bit length
    case 10: return frameBytes(.ping, bytes(Int(rng.next() % 10)))
    default: return frameBytes(.binary, [])
    }
  }

  @Test("random frame sequences: the same messages, events, output and failure every way")
  func randomSequencesAgree() {
    var rng = SplitMix64(seed: 6455)
    for _ in 0..<300 {
      var input: [UInt8] = []
      for _ in 0..<(1 + rng.next() % 6) { input += Self.randomFrame(&rng) }
      let limit = [10, 40, 125, 64 << 20][Int(rng.next() % 4)]
      feedAllWays(input, configuration: .init(maxMessageSize: limit), everySplit: false)
    }
  }

  @Test("the shortcut takes a whole small frame only, and leaves the decoder at the next one")
  func takesOnlyWholeSmallFrames() {
    var decoder = FrameDecoder(role: .client)
    let input = frameBytes(.text, ascii("hi")) + frameBytes(.binary, [1, 2, 3]) + [0x81, 0x05, 0x61]
    input.withUnsafeBytes { raw in
      var index = 0
      let first = decoder.smallDataFrame(raw, index: &index, limit: 100)
      #expect(first?.opcode == .text && first?.payload == 2..<4 && index == 4)
      // Over the limit: left alone, index unchanged.
      #expect(decoder.smallDataFrame(raw, index: &index, limit: 2) == nil && index == 4)
      let second = decoder.smallDataFrame(raw, index: &index, limit: 100)
      #expect(second?.opcode == .binary && second?.payload == 6..<9 && index == 9)
      // Its payload is not all there: left to `next`.
      #expect(decoder.smallDataFrame(raw, index: &index, limit: 100) == nil && index == 9)
    }
    var server = FrameDecoder(role: .server)
    frameBytes(.text, ascii("hi")).withUnsafeBytes { raw in
      var index = 0
      #expect(server.smallDataFrame(raw, index: &index, limit: 100) == nil && index == 0)
    }
  }
}
