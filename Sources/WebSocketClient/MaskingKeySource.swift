#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Masking keys for the frames a client sends: RFC 6455 §5.3 and §10.3 ask for keys an
/// intermediary cannot predict, i.e. from a strong source of entropy.
///
/// The keys come from the kernel's CSPRNG through `getentropy(3)`, 256 bytes (32 keys) per
/// call. The standard library's `SystemRandomNumberGenerator` makes one `getrandom(2)` call
/// per 8 bytes, which was a third of the time of sending a stream of small messages; and
/// OpenSSL's `RAND_bytes` would initialise OpenSSL's generator (about 3 ms) even for ws://.
struct MaskingKeySource: RandomNumberGenerator {
  /// `getentropy` returns at most 256 bytes per call.
  private var words = [UInt64](repeating: 0, count: 32)
  private var index = 32

  mutating func next() -> UInt64 {
    if index == words.count { refill() }
    defer { index += 1 }
    return words[index]
  }

  private mutating func refill() {
    let ok = words.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) == 0 }
    if !ok {
      // No getentropy (a kernel without getrandom): the standard library's source.
      var system = SystemRandomNumberGenerator()
      for i in words.indices { words[i] = system.next() }
    }
    index = 0
  }
}
