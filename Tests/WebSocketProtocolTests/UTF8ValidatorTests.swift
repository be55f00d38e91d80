import Testing
import WebSocketProtocol

/// The standard library's verdict: decoding with replacement changes the bytes iff they are invalid.
private func referenceIsValid(_ bytes: [UInt8]) -> Bool {
  Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
}

/// Feeds `pieces` in order; returns (all pieces accepted, ends on a character boundary).
private func validate(_ pieces: [[UInt8]]) -> (accepted: Bool, complete: Bool) {
  var v = UTF8Validator()
  for p in pieces where !v.feed(p) { return (false, v.isComplete) }
  return (true, v.isComplete)
}

/// The validator's verdict on `bytes`, checked to be the same for every way of cutting them.
private func verdict(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
  let whole = UTF8Validator.isValid(bytes)
  for (name, pieces) in choppings(bytes) {
    let (accepted, complete) = validate(pieces)
    #expect((accepted && complete) == whole, "\(bytes) \(name)", sourceLocation: sourceLocation)
  }
  return whole
}

/// Index of the byte at which feeding one byte at a time first fails, nil if none does.
private func failureIndex(_ bytes: [UInt8]) -> Int? {
  var v = UTF8Validator()
  for (i, b) in bytes.enumerated() where !v.feed([b]) { return i }
  return nil
}

@Suite("RFC 3629 / RFC 6455 §8.1 UTF8Validator")
struct UTF8ValidatorTests {
  static let valid: [String] = [
    "", "a", "Hello", "κόσμε", "é", "€", "😀", "\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{FFFF}",
    "\u{10000}", "\u{10FFFF}", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "a😀b€cκ",
  ]

  static let invalid: [(bytes: [UInt8], failsAt: Int?)] = [
    (hex("ff"), 0),
    (hex("fe"), 0),
    (hex("80"), 0),
    (hex("bf"), 0),
    (hex("c0 af"), 0),
    (hex("c1 bf"), 0),
    (hex("e0 80 af"), 1),
    (hex("e0 9f bf"), 1),
    (hex("ed a0 80"), 1),
    (hex("ed bf bf"), 1),
    (hex("f0 80 80 af"), 1),
    (hex("f0 8f bf bf"), 1),
    (hex("f4 90 80 80"), 1),
    (hex("f5 80 80 80"), 0),
    (hex("f8 88 80 80 80"), 0),
    (hex("ce ba e1 bd"), nil),
    (hex("ce"), nil),
    (hex("e2 82"), nil),
    (hex("f0 9f 98"), nil),
    (hex("c3 28"), 1),
    (hex("e2 28 a1"), 1),
    (hex("e2 82 28"), 2),
    (hex("f0 28 8c bc"), 1),
    (hex("f0 90 28 bc"), 2),
    (hex("f0 9f 98 28"), 3),
    (hex("ce ba ff"), 2),
  ]

  @Test("valid strings are accepted at every split")
  func validVectors() {
    for s in Self.valid {
      #expect(verdict(ascii(s)), "\(s)")
    }
    // The Autobahn 6.x "Hello-µ@ßöäüàá-UTF-8!!" and the κόσμε sample, concatenated.
    #expect(verdict(ascii("Hello-µ@ßöäüàá-UTF-8!!κόσμε")))
  }

  @Test("invalid sequences are rejected at every split, at the first impossible byte")
  func invalidVectors() {
    for (bytes, failsAt) in Self.invalid {
      #expect(!verdict(bytes), "\(bytes)")
      #expect(failureIndex(bytes) == failsAt, "\(bytes)")
      #expect(!referenceIsValid(bytes), "reference disagrees on \(bytes)")
      // Embedded after ASCII (which takes the fast path) the verdict is the same.
      let padded = [UInt8](repeating: 0x61, count: 13) + bytes + [UInt8](repeating: 0x62, count: 9)
      #expect(!verdict(padded), "\(padded)")
      // A truncated sequence fails at the ASCII byte that follows it.
      #expect(failureIndex(padded) == 13 + (failsAt ?? bytes.count), "\(padded)")
    }
  }

  @Test(
    "all 2-byte leads, and 3- and 4-byte sequences with continuation tails, agree with the standard library")
  func twoAndThreeByteSpace() {
    // All 2-byte sequences, and all 3-byte sequences with a fixed last byte, against the reference.
    var mismatches: [[UInt8]] = []
    for b0 in 0...255 {
      for b1 in 0...255 {
        for bytes in [
          [UInt8(b0), UInt8(b1)], [UInt8(b0), UInt8(b1), 0x80], [UInt8(b0), UInt8(b1), 0x80, 0x80],
        ]
        where UTF8Validator.isValid(bytes) != referenceIsValid(bytes) {
          mismatches.append(bytes)
        }
      }
    }
    #expect(mismatches.isEmpty)
  }

  @Test("random byte strings agree with the standard library, fed whole and byte by byte")
  func randomAgainstReference() {
    var rng = SplitMix64(seed: 2024)
    let alphabet: [UInt8] = [
      0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC2, 0xCE, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
    ]
    for _ in 0..<3000 {
      let length = Int.random(in: 0...24, using: &rng)
      let bytes = (0..<length).map { _ in
        Bool.random(using: &rng)
          ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0x80...0xBF, using: &rng)
      }
      let expected = referenceIsValid(bytes)
      #expect(UTF8Validator.isValid(bytes) == expected, "\(bytes)")
      let (accepted, complete) = validate(bytes.map { [$0] })
      #expect((accepted && complete) == expected, "\(bytes) byte by byte")
    }
  }

  @Test("ASCII fast paths (32 and 8 bytes a step): lengths 0…100, a character or bad byte anywhere")
  func asciiFastPathBoundaries() {
    let characters: [[UInt8]] = [ascii("é"), ascii("€"), ascii("😀")]
    for length in 0...100 {
      let plain = [UInt8](repeating: 0x61, count: length)
      #expect(verdict(plain))
      for position in 0...length {
        for c in characters {
          var bytes = plain
          bytes.insert(contentsOf: c, at: position)
          #expect(UTF8Validator.isValid(bytes), "\(c) at \(position) of \(length)")
          // Without its last byte the character is truncated, which is invalid wherever it is.
          var truncated = plain
          truncated.insert(contentsOf: c.dropLast(), at: position)
          #expect(!UTF8Validator.isValid(truncated), "truncated \(c) at \(position) of \(length)")
        }
        for bad: UInt8 in [0x80, 0xC0, 0xFF] {
          var bytes = plain
          bytes.insert(bad, at: position)
          #expect(!UTF8Validator.isValid(bytes), "\(bad) at \(position) of \(length)")
          #expect(failureIndex(bytes) == position, "\(bad) at \(position) of \(length)")
        }
      }
    }
  }

  @Test("unaligned buffers take the same path: every start offset 0…7")
  func unalignedStarts() {
    let text = ascii("abcdefghijklmnopqrstuvwxyz😀abcdefghijκ")
    for offset in 0..<8 {
      let storage = [UInt8](repeating: 0x61, count: offset) + text + [0xFF]
      storage.withUnsafeBytes { raw in
        let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + text.count])
        #expect(UTF8Validator.isValid(slice), "offset \(offset)")
        let withBad = UnsafeRawBufferPointer(rebasing: raw[offset...])
        #expect(!UTF8Validator.isValid(withBad), "offset \(offset)")
      }
    }
  }

  @Test("a validator is a value: a copy checkpoints its state")
  func checkpoint() {
    var v = UTF8Validator()
    let first = v.feed(hex("e2 82"))
    #expect(first && !v.isComplete)
    var copy = v
    let bad = copy.feed(hex("28"))
    #expect(!bad)
    let last = v.feed(hex("ac"))
    #expect(last && v.isComplete)
  }
}
