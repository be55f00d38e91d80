import Testing
import WebSocketProtocol

/// Boundary lengths (the curl test2707 set) and the length bytes §5.2 requires for them.
private let lengthBoundaries: [(length: Int, lengthBytes: [UInt8])] = [
  (0, [0x00]),
  (1, [0x01]),
  (125, [0x7D]),
  (126, [0x7E, 0x00, 0x7E]),
  (127, [0x7E, 0x00, 0x7F]),
  (65535, [0x7E, 0xFF, 0xFF]),
  (65536, [0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]),
]

@Suite("RFC 6455 §5.2 sending: minimal payload length encoding")
struct LengthEncodingTests {
  @Test("FrameHeader.write uses the shortest encoding", arguments: lengthBoundaries)
  func headerWrite(length: Int, lengthBytes: [UInt8]) {
    var out: [UInt8] = []
    let header = FrameHeader(opcode: .binary, payloadLength: UInt64(length))
    header.write(into: &out)
    #expect(out == [0x82] + lengthBytes)
    #expect(header.encodedSize == out.count)
  }

  @Test(
    "a server-role connection writes unmasked frames with the shortest encoding", arguments: lengthBoundaries)
  func serverSend(length: Int, lengthBytes: [UInt8]) throws {
    var connection = WebSocketConnection(role: .server)
    let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
    try connection.send(.binary, payload)
    let out = connection.takeOutgoing()
    #expect(Array(out.prefix(1 + lengthBytes.count)) == [0x82] + lengthBytes)
    #expect(Array(out.dropFirst(1 + lengthBytes.count)) == payload)
  }

  @Test(
    "a client-role connection sets MASK and uses the shortest encoding, round-tripping through a server",
    arguments: lengthBoundaries)
  func clientSend(length: Int, lengthBytes: [UInt8]) throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: UInt64(length)))
    var keys = SplitMix64(seed: UInt64(length))
    let expectedKey = MaskKey(random: keys.next())
    let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 3) }
    try connection.send(.binary, payload)
    let out = connection.takeOutgoing()
    var expectedHeader = [0x82, lengthBytes[0] | 0x80] + lengthBytes.dropFirst()
    expectedHeader += [expectedKey.b0, expectedKey.b1, expectedKey.b2, expectedKey.b3]
    #expect(Array(out.prefix(expectedHeader.count)) == expectedHeader)
    #expect(out.count == expectedHeader.count + length)
    #expect(out == frameBytes(.binary, payload, key: expectedKey))

    let received = feed([out], role: .server)
    #expect(received.events == [binaryMessage(payload)])
    #expect(received.failure == nil)
  }

  @Test("64-bit lengths keep the most significant bit clear")
  func sixtyFourBitLength() {
    var out: [UInt8] = []
    FrameHeader(opcode: .binary, payloadLength: 1 << 62).write(into: &out)
    #expect(out == hex("82 7f 40 00 00 00 00 00 00 00"))
  }
}

@Suite("RFC 6455 §5.3 client-to-server masking")
struct MaskingTests {
  static let key = MaskKey(0x37, 0xFA, 0x21, 0x3D)

  /// XORs each byte with the key byte at (phase + i) mod 4: the §5.3 definition.
  static func reference(_ data: [UInt8], key: MaskKey, phase: Int) -> [UInt8] {
    let k = [key.b0, key.b1, key.b2, key.b3]
    return data.enumerated().map { i, b in b ^ k[(phase + i) % 4] }
  }

  @Test("Masking.apply equals a bytewise reference at every phase, length 0…70 and alignment")
  func applyMatchesReference() {
    var rng = SplitMix64(seed: 1)
    for length in 0...70 {
      let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
      for phase in 0..<8 {
        for alignment in 0..<8 {
          var buffer = [UInt8](repeating: 0xEE, count: alignment) + data + [0xEE, 0xEE]
          let next = buffer.withUnsafeMutableBytes { p in
            Masking.apply(
              Self.key, to: UnsafeMutableRawBufferPointer(rebasing: p[alignment..<alignment + length]),
              phase: phase)
          }
          #expect(next == (phase + length) & 3)
          #expect(
            Array(buffer[alignment..<alignment + length]) == Self.reference(data, key: Self.key, phase: phase)
          )
          // Bytes around the range are untouched.
          #expect(buffer[..<alignment].allSatisfy { $0 == 0xEE } && buffer.suffix(2) == [0xEE, 0xEE])
        }
      }
    }
  }

  @Test("Masking.copy equals the reference and leaves the source alone")
  func copyMatchesReference() {
    for length in 0...70 {
      let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
      for phase in 0..<4 {
        var destination = [UInt8](repeating: 0, count: length)
        let next = data.withUnsafeBytes { s in
          destination.withUnsafeMutableBytes { d in Masking.copy(s, to: d, key: Self.key, phase: phase) }
        }
        #expect(next == (phase + length) & 3)
        #expect(destination == Self.reference(data, key: Self.key, phase: phase))
      }
    }
  }

  @Test("masking in pieces, carrying the returned phase, equals masking whole; twice is identity")
  func pieces() {
    let data = (0..<70).map { UInt8($0) }
    let whole = Self.reference(data, key: Self.key, phase: 0)
    for cut in 0...data.count {
      var buffer = data
      buffer.withUnsafeMutableBytes { p in
        let phase = Masking.apply(Self.key, to: UnsafeMutableRawBufferPointer(rebasing: p[..<cut]))
        Masking.apply(Self.key, to: UnsafeMutableRawBufferPointer(rebasing: p[cut...]), phase: phase)
      }
      #expect(buffer == whole, "cut at \(cut)")
      buffer.withUnsafeMutableBytes { _ = Masking.apply(Self.key, to: $0) }
      #expect(buffer == data)
    }
  }

  @Test("the §5.7 masked \"Hello\" is Hello XOR 37 fa 21 3d")
  func helloExample() {
    #expect(frameBytes(.text, ascii("Hello"), key: Self.key) == hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
  }

  @Test("every client frame is masked, with the injected generator's keys in order, RSV clear")
  func everyFrameMasked() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 99))
    try connection.send(.text, ascii("one"))
    try connection.send(.binary, [1, 2, 3])
    try connection.ping(ascii("p"))
    try connection.pong(ascii("q"))
    try connection.send(.text, ascii("fr"), fin: false)
    try connection.send(.text, ascii("ag"), fin: true, continuing: true)
    try connection.close(code: 1000, reason: "bye")
    let frames = try sentFrames(connection.takeOutgoing())
    var keys = SplitMix64(seed: 99)
    #expect(frames.map(\.header.opcode) == [.text, .binary, .ping, .pong, .text, .continuation, .close])
    for frame in frames {
      #expect(frame.header.maskKey == MaskKey(random: keys.next()))
      #expect(frame.header.rsv == 0)
    }
    #expect(
      frames.map(\.payload) == [
        ascii("one"), [1, 2, 3], ascii("p"), ascii("q"), ascii("fr"), ascii("ag"),
        [0x03, 0xE8] + ascii("bye"),
      ])
  }

  @Test("masking keys differ from frame to frame (§5.3, curl CVE-2025-10148)")
  func keysDiffer() throws {
    for seeded in [true, false] {
      var connection =
        seeded
        ? WebSocketConnection(role: .client, random: SplitMix64(seed: 5)) : WebSocketConnection(role: .client)
      for i in 0..<1000 { try connection.send(.binary, [UInt8(truncatingIfNeeded: i)]) }
      let keys = try sentFrames(connection.takeOutgoing()).compactMap(\.header.maskKey)
      #expect(keys.count == 1000)
      // 1000 draws from 2^32: a duplicate has probability ≈ 1e-4.
      #expect(Set(keys).count >= 999)
      #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 != $1 })
    }
  }
}
