import CZlib
import Testing
import WebSocketDeflate
import WebSocketProtocol

/// RFC 7692 §7.2.3 examples and the receive-side rules of §6 and §7.2.2 (CHECKLIST O6–O10).
@Suite("RFC 7692 §7.2 permessage-deflate data")
struct RFC7692DataTests {
  let hello = Message(kind: .text, data: Array("Hello".utf8))

  @Test(
    "§7.2.3.1–5 examples decompress to Hello, whole and byte by byte",
    arguments: [
      ("§7.2.3.1 one block", "c1 07 f2 48 cd c9 c9 07 00"),
      ("§7.2.3.3 stored block", "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00"),
      ("§7.2.3.4 BFINAL=1", "c1 08 f3 48 cd c9 c9 07 00 00"),
      ("§7.2.3.5 two blocks", "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00"),
      ("§7.2.3.1 fragmented", "41 03 f2 48 cd 80 04 c9 c9 07 00"),
    ])
  func examples(name: String, input: String) {
    let r = receiveBothWays(hex(input))
    #expect(r.failure == nil, "\(name)")
    #expect(r.messages == [hello], "\(name)")
  }

  @Test("§7.2.3.2 context takeover: the second message refers to the first")
  func takeover() {
    let r = receiveBothWays(hex("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00"))
    #expect(r.failure == nil)
    #expect(r.messages == [hello, hello])
  }

  @Test("O10: a back-reference to the previous message after server_no_context_takeover fails with 1002")
  func noTakeoverBackReference() {
    let r = receiveBothWays(
      hex("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00"),
      parameters: DeflateParameters(serverNoContextTakeover: true))
    #expect(r.messages == [hello])
    #expect(r.failure?.closeCode == CloseCode.protocolError)
    if case .extensionError = r.failure {
    } else {
      Issue.record("expected an extension error, got \(String(describing: r.failure))")
    }
  }

  @Test("O10: corrupt deflate data fails with 1002, no crash")
  func corrupt() {
    for input in ["c1 02 ff ff", "c1 04 ff ff ff ff", "c1 05 f2 00 11 00 00"] {
      let r = receiveBothWays(hex(input))
      #expect(r.messages.isEmpty, "\(input)")
      #expect(r.failure?.closeCode == CloseCode.protocolError, "\(input)")
    }
  }

  @Test("O6: RSV1 on a ping, or on a continuation frame, fails with 1002")
  func rsv1Placement() {
    for input in ["c9 00", "ca 00", "c8 02 03 e8", "41 03 f2 48 cd c0 04 c9 c9 07 00"] {
      let r = receiveBothWays(hex(input))
      #expect(r.messages.isEmpty, "\(input)")
      #expect(r.failure == .reservedBitsSet(0x40), "\(input)")
      #expect(r.outgoing.count >= 4 && r.outgoing[0] == 0x88, "\(input): a Close goes out")
    }
  }

  @Test("RSV2 and RSV3 stay reserved with permessage-deflate")
  func otherRSV() {
    for input in ["a1 00", "91 00", "e1 00"] {
      let r = receiveBothWays(hex(input))
      #expect(r.failure?.closeCode == CloseCode.protocolError, "\(input)")
    }
  }

  @Test("an uncompressed message (RSV1 = 0) is still accepted when deflate is agreed")
  func uncompressedMessage() {
    let r = receiveBothWays(hex("81 05 48 65 6c 6c 6f"))
    #expect(r.messages == [hello])
  }

  @Test("invalid UTF-8 after decompression fails with 1007")
  func invalidUTF8() {
    let r = receiveBothWays(serverFrame(.text, rawDeflate([0x61, 0xFF, 0x62])))
    #expect(r.messages.isEmpty)
    #expect(r.failure == .invalidUTF8)
    let truncated = receiveBothWays(serverFrame(.text, rawDeflate([0x61, 0xCE])))
    #expect(truncated.failure == .invalidUTF8)
  }

  /// Found by fuzzing (issue 21): the inflated bytes are invalid UTF-8 and the deflate data
  /// after them is corrupt. Fed whole it failed with 1002, split after 12 bytes with 1007.
  /// The bytes inflated before the corruption are checked first, wherever TCP split them.
  @Test("fuzz: invalid UTF-8 then corrupt deflate data fails with 1007 however the bytes are split")
  func invalidUTF8BeforeCorruptData() {
    let input = hex("c1 0c fa ff 1f 02 00 00 00 00 ff ff ff ff")
    let r = receiveBothWays(input)
    #expect(r.failure == .invalidUTF8)
    for cut in 1..<input.count {
      var connection = deflateConnection()
      let split = receive([Array(input[..<cut]), Array(input[cut...])], into: &connection)
      #expect(split.failure == .invalidUTF8, "split after \(cut) bytes")
    }
  }

  @Test("invalid UTF-8 inflated before the limit is passed fails with 1007, not 1009")
  func invalidUTF8BeforeLimit() {
    let payload = rawDeflate([0x61, 0xFF] + [UInt8](repeating: 0x61, count: 4096))
    let r = receiveBothWays(serverFrame(.text, payload), maxMessageSize: 1024)
    #expect(r.failure == .invalidUTF8)
    let valid = receiveBothWays(
      serverFrame(.text, rawDeflate([UInt8](repeating: 0x61, count: 4096))), maxMessageSize: 1024)
    #expect(valid.failure == .messageTooBig(limit: 1024))
  }

  @Test("O9: a deflate bomb stops at the limit + 1 with 1009, never inflating the rest")
  func bomb() {
    let limit = 1 << 20
    let bomb = rawDeflate([UInt8](repeating: 0, count: 64 << 20))
    #expect(bomb.count < 128 << 10)
    var connection = deflateConnection(maxMessageSize: limit)
    let r = receive([serverFrame(.binary, bomb)], into: &connection)
    #expect(r.messages.isEmpty)
    #expect(r.failure == .messageTooBig(limit: limit))
    #expect(r.outgoing.prefix(4) == [0x88, 0x82, r.outgoing[2], r.outgoing[3]] || r.outgoing[0] == 0x88)
  }

  @Test("O9: a message of exactly the limit is accepted whole; one byte more is 1009")
  func exactLimit() {
    let limit = 100_000
    var rng = SplitMix64(seed: 3)
    // Half random, half repetitive: neither trivially compressible nor stored.
    let body = (0..<limit).map { i in i % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : 0x41 }
    for (data, ok) in [(body, true), (body + [0x42], false)] {
      for fragmented in [false, true] {
        let compressed = rawDeflate(data)
        var input: [UInt8]
        if fragmented {
          let cut = compressed.count / 2
          input =
            serverFrame(.binary, Array(compressed[..<cut]), fin: false)
            + serverFrame(.continuation, Array(compressed[cut...]), rsv: 0)
        } else {
          input = serverFrame(.binary, compressed)
        }
        var connection = deflateConnection(maxMessageSize: limit)
        let r = receive([input], into: &connection)
        if ok {
          #expect(r.failure == nil)
          #expect(r.messages == [Message(kind: .binary, data: data)], "never truncated")
        } else {
          #expect(r.messages.isEmpty)
          #expect(r.failure == .messageTooBig(limit: limit))
        }
      }
    }
  }

  @Test("an incompressible message of exactly the limit fits although deflate made it larger")
  func incompressibleAtLimit() {
    let limit = 200_000
    var rng = SplitMix64(seed: 9)
    let data = (0..<limit).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let compressed = rawDeflate(data)
    #expect(compressed.count > limit)
    var connection = deflateConnection(maxMessageSize: limit)
    let r = receive([serverFrame(.binary, compressed)], into: &connection)
    #expect(r.failure == nil)
    #expect(r.messages.first?.data == data)
  }
}

/// The sending side (§7.2.1, CHECKLIST O1, O3, O5, O8).
@Suite("RFC 7692 §7.2.1 compressing")
struct CompressTests {
  @Test("O8: an empty message is the single byte 00, with RSV1")
  func emptyMessage() throws {
    var c = deflateConnection()
    try c.send(.text, [])
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f.count == 1)
    #expect(f[0].header.rsv == FrameHeader.rsv1)
    #expect(f[0].payload == [0x00])
  }

  @Test("§7.2.1: sync flush with the 00 00 ff ff tail removed; Hello compresses as in §7.2.3.1")
  func hello() throws {
    var c = deflateConnection()
    try c.send(.text, Array("Hello".utf8))
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f.map(\.payload) == [hex("f2 48 cd c9 c9 07 00")])
    #expect(f[0].header.maskKey != nil, "client frames stay masked")
  }

  @Test("RSV1 on the first frame of a fragmented message only")
  func fragmentedSend() throws {
    var c = deflateConnection()
    let part = Array("Hello, world. ".utf8)
    try part.withUnsafeBytes { try c.send(.text, $0, fin: false) }
    try part.withUnsafeBytes { try c.send(.text, $0, fin: false, continuing: true) }
    try part.withUnsafeBytes { try c.send(.text, $0, fin: true, continuing: true) }
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f.map(\.header.rsv) == [FrameHeader.rsv1, 0, 0])
    #expect(f.map(\.header.opcode) == [.text, .continuation, .continuation])
    let s = makeInflater(windowBits: -15)
    defer { freeInflater(s) }
    #expect(rawInflate(f.flatMap(\.payload), windowBits: -15, stream: s) == part + part + part)
  }

  @Test("control frames are never compressed")
  func controlFrames() throws {
    var c = deflateConnection()
    try c.ping(Array("abc".utf8))
    try c.close(code: 1000)
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f.map(\.header.rsv) == [0, 0])
    #expect(f[0].payload == Array("abc".utf8))
  }

  @Test("context takeover: the second identical message is shorter; client_no_context_takeover resets")
  func takeover() throws {
    let text = Array(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 4).utf8)
    for reset in [false, true] {
      var c = deflateConnection(parameters: DeflateParameters(clientNoContextTakeover: reset))
      try c.send(.text, text)
      try c.send(.text, text)
      let f = try frames(c.takeOutgoing(), readBy: .server)
      if reset {
        #expect(f[0].payload == f[1].payload)
      } else {
        #expect(f[1].payload.count < f[0].payload.count / 2)
      }
      // O5: with the reset, a fresh inflater per message succeeds.
      for frame in f where reset {
        let s = makeInflater(windowBits: -15)
        #expect(rawInflate(frame.payload, windowBits: -15, stream: s) == text)
        freeInflater(s)
      }
    }
  }

  @Test("O3 / #52: client_max_window_bits=9 agreed → a strict 9-bit inflater takes every message")
  func window9() throws {
    var c = deflateConnection(parameters: DeflateParameters(clientMaxWindowBits: 9))
    var rng = SplitMix64(seed: 1)
    let words = (0..<64).map { i in "word\(i)-\(rng.next() % 1000) " }
    var sent: [[UInt8]] = []
    for i in 0..<1000 {
      let text = (0..<(20 + i % 40)).map { _ in words[Int(rng.next() % 64)] }.joined()
      sent.append(Array(text.utf8))
      try c.send(.text, sent.last!)
    }
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f.count == 1000)
    let s = makeInflater(windowBits: -9)
    defer { freeInflater(s) }
    for (frame, text) in zip(f, sent) {
      #expect(frame.header.rsv == FrameHeader.rsv1)
      #expect(rawInflate(frame.payload, windowBits: -9, stream: s) == text)
    }
  }

  @Test("client_max_window_bits=8 agreed → nothing is compressed (zlib has no raw 8-bit window)")
  func window8() throws {
    var c = deflateConnection(parameters: DeflateParameters(clientMaxWindowBits: 8))
    try c.send(.text, Array("Hello Hello Hello".utf8))
    let f = try frames(c.takeOutgoing(), readBy: .server)
    #expect(f[0].header.rsv == 0)
    #expect(f[0].payload == Array("Hello Hello Hello".utf8))
    // The server's compressed messages are still read.
    var r = deflateConnection(parameters: DeflateParameters(clientMaxWindowBits: 8))
    #expect(receive([hex("c1 07 f2 48 cd c9 c9 07 00")], into: &r).messages.count == 1)
  }
}

/// Both roles of the state machine talking to each other through permessage-deflate.
@Suite("permessage-deflate round trips between a client and a server connection")
struct RoundTripTests {
  static let configurations: [DeflateParameters] = [
    DeflateParameters(),
    DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true),
    DeflateParameters(serverMaxWindowBits: 10, clientMaxWindowBits: 9),
  ]

  @Test("text and binary, 0 B to 1 MiB, whole and fragmented, both directions", arguments: configurations)
  func roundTrip(parameters: DeflateParameters) throws {
    var client = deflateConnection(role: .client, parameters: parameters, seed: 1)
    var server = deflateConnection(role: .server, parameters: parameters, seed: 2)
    var rng = SplitMix64(seed: 5)
    for size in [0, 1, 125, 126, 65_535, 65_536, 300_000, 1 << 20] {
      let text = Array(String(repeating: "abcé", count: size / 5 + 1).utf8.prefix(size / 5 * 5))
      let binary = (0..<size).map { i in i % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i & 0xFF)
      }
      for (kind, data) in [(Message.Kind.text, text), (.binary, binary)] {
        try client.send(kind, data)
        var got = receive([client.takeOutgoing()], into: &server)
        #expect(got.failure == nil)
        #expect(got.messages == [Message(kind: kind, data: data)], "client → server \(size)")
        try server.send(kind, data)
        got = receive([server.takeOutgoing()], into: &client)
        #expect(got.messages == [Message(kind: kind, data: data)], "server → client \(size)")
        // Fragmented, in three frames.
        let third = data.count / 3
        let parts = [data[..<third], data[third..<2 * third], data[(2 * third)...]]
        for (i, p) in parts.enumerated() {
          try Array(p).withUnsafeBytes { try server.send(kind, $0, fin: i == 2, continuing: i > 0) }
        }
        got = receive([server.takeOutgoing()], into: &client)
        #expect(got.messages == [Message(kind: kind, data: data)], "fragmented \(size)")
      }
    }
    #expect(server.takeOutgoing().allSatisfy { _ in true })
    let serverFrames = try frames(
      {
        try client.send(.binary, [1, 2, 3]); return client.takeOutgoing()
      }(), readBy: .server)
    #expect(serverFrames[0].header.maskKey != nil)
  }

  @Test("a server-role connection compresses without masking")
  func serverUnmasked() throws {
    var server = deflateConnection(role: .server)
    try server.send(.text, Array("Hello".utf8))
    let f = try frames(server.takeOutgoing(), readBy: .client)
    #expect(f[0].header.maskKey == nil)
    #expect(f[0].header.rsv == FrameHeader.rsv1)
    #expect(f[0].payload == hex("f2 48 cd c9 c9 07 00"))
  }
}
