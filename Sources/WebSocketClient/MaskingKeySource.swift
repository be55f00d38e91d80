import CSystemCalls

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Masking keys for the frames a client sends: RFC 6455 §5.3 and §10.3 ask for keys an
/// intermediary cannot predict, i.e. from a strong source of entropy.
///
/// The keys come from the kernel's CSPRNG, 4 KiB (512 keys) per `getrandom(2)` call.
/// The standard library's `SystemRandomNumberGenerator` makes one call per 8 bytes, which
/// was a third of the time of sending a stream of small messages; `getentropy(3)`, used
/// before, stops at 256 bytes, so B4 (1,000,000 frames) still made 31,261 calls, about
/// a third of its system time (issue 17). OpenSSL's `RAND_bytes` would initialise
/// OpenSSL's generator (about 3 ms) even for ws://.
struct MaskingKeySource: RandomNumberGenerator {
  private var words = [UInt64](repeating: 0, count: 512)
  private var filled = 0
  private var index = 0

  mutating func next() -> UInt64 {
    if index == filled { refill() }
    defer { index += 1 }
    return words[index]
  }

  private mutating func refill() {
    // Past 256 bytes getrandom may return fewer bytes than asked (a signal, such as the
    // I/O thread's wake-up, can interrupt it): the whole words it gave are used.
    let n = words.withUnsafeMutableBytes { wsc_getrandom($0.baseAddress, $0.count) }
    if n >= 8 {
      filled = n / 8
    } else {
      // No getrandom (an old kernel) or an error: the standard library's source.
      var system = SystemRandomNumberGenerator()
      for i in words.indices { words[i] = system.next() }
      filled = words.count
    }
    index = 0
  }
}
