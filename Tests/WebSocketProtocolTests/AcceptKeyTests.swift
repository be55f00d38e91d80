import Testing
import WebSocketProtocol

private func hexString(_ bytes: [UInt8]) -> String {
  bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Suite("RFC 6455 §1.3 and §4.2.2: Sec-WebSocket-Accept")
struct AcceptKeyTests {
  @Test("the §1.3 example key gives the §1.3 accept value")
  func rfcExample() {
    #expect(ClientHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
  }

  @Test("the accept value is base64(SHA-1(key + GUID)) (§4.2.2 item 5.4)")
  func composition() {
    let key = "x3JJHMbDL1EzLkh9GBhXDw=="
    let expected = Base64.encodeString(SHA1.hash(ascii(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")))
    #expect(ClientHandshake.acceptValue(forKey: key) == expected)
    // Published in many implementations' tests (e.g. the §1.3-style example on Wikipedia).
    #expect(expected == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
  }
}

@Suite("FIPS 180-4 SHA-1 known vectors")
struct SHA1Tests {
  @Test(
    "one-shot digests",
    arguments: [
      ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
      ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
      (
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
      ),
      ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
  func vectors(input: String, digest: String) {
    #expect(hexString(SHA1.hash(ascii(input))) == digest)
  }

  @Test(
    "padding boundaries around 55, 56 and 64 bytes",
    arguments: [
      (55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
      (56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
      (57, "f08f24908d682555111be7ff6f004e78283d989a"),
      (63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"),
      (64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
      (65, "11655326c708d70319be2610e8a57d9a5b959d3b"),
      (119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"),
      (120, "f34c1488385346a55709ba056ddd08280dd4c6d6"),
      (128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0"),
    ])
  func boundaries(count: Int, digest: String) {
    #expect(hexString(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: count))) == digest)
  }

  @Test("one million 'a' (FIPS 180 test vector)")
  func million() {
    #expect(
      hexString(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
        == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
  }

  @Test("incremental updates at every split equal the one-shot digest")
  func incremental() {
    let input = (0..<256).map { UInt8($0) }
    let whole = SHA1.hash(input)
    #expect(hexString(whole) == "4916d6bdb7f78e6803698cab32d1586ea457dfc8")
    for split in 0...input.count {
      var s = SHA1()
      s.update(input[..<split])
      s.update(input[split...])
      #expect(s.finish() == whole, "split at \(split)")
    }
    var s = SHA1()
    for b in input { s.update([b]) }
    #expect(s.finish() == whole)
  }
}

@Suite("RFC 4648 base64")
struct Base64Tests {
  @Test(
    "RFC 4648 §10 test vectors encode and decode",
    arguments: [
      ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
  func vectors(plain: String, encoded: String) {
    #expect(Base64.encodeString(ascii(plain)) == encoded)
    #expect(Base64.encode(ascii(plain)) == ascii(encoded))
    #expect(Base64.decode(ascii(encoded)) == ascii(plain))
  }

  @Test("unpadded input decodes")
  func unpadded() {
    #expect(Base64.decode(ascii("Zg")) == ascii("f"))
    #expect(Base64.decode(ascii("Zm8")) == ascii("fo"))
  }

  @Test("the 16-byte key of §1.3 decodes to 16 bytes")
  func sixteenBytes() {
    #expect(Base64.decode(ascii("dGhlIHNhbXBsZSBub25jZQ==")) == ascii("the sample nonce"))
  }

  @Test(
    "bad input decodes to nil",
    arguments: [
      "Zm9v!", "Zm 9v", "Zm9v\n", "Zg=a", "Zg==Zg==", "Z===", "Z", "Zm9vY", "-_--", "Zm9v\u{0}", "é",
    ])
  func badInput(text: String) {
    #expect(Base64.decode(ascii(text)) == nil)
  }

  @Test("every byte value and every length 0…64 round-trips")
  func roundTrip() {
    var rng = SplitMix64(seed: 7)
    for length in 0...64 {
      let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let encoded = Base64.encode(data)
      #expect(encoded.count == (length + 2) / 3 * 4)
      #expect(Base64.decode(encoded) == data)
    }
    let all = (0...255).map { UInt8($0) }
    #expect(Base64.decode(Base64.encode(all)) == all)
  }
}
