import COpenSSL

/// Masking keys for the frames a client sends: RFC 6455 §5.3 and §10.3 ask for keys an
/// intermediary cannot predict, i.e. from a strong source of entropy.
///
/// The keys come from OpenSSL's CSPRNG (`RAND_bytes`, seeded by the operating system),
/// fetched 4 KiB at a time. The standard library's `SystemRandomNumberGenerator` makes one
/// `getrandom(2)` system call per 8 bytes, which was a third of the time of sending a
/// stream of small messages.
struct MaskingKeySource: RandomNumberGenerator {
  private var words = [UInt64](repeating: 0, count: 512)
  private var index = 512

  mutating func next() -> UInt64 {
    if index == words.count { refill() }
    defer { index += 1 }
    return words[index]
  }

  private mutating func refill() {
    let ok = words.withUnsafeMutableBytes { raw in
      RAND_bytes(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(raw.count)) == 1
    }
    if !ok {
      // OpenSSL could not seed itself: take the keys from the system one call at a time.
      var system = SystemRandomNumberGenerator()
      for i in words.indices { words[i] = system.next() }
    }
    index = 0
  }
}
