import Testing

@testable import WebSocketClient

/// The client's masking keys (RFC 6455 §5.3, §10.3): drawn from the kernel in blocks of 512
/// (issue 17), and across refills still never a repeat or a block left unfilled.
@Suite("MaskingKeySource")
struct MaskingKeySourceTests {
  @Test("§5.3: 5,000 keys across ten refills, all distinct and none zero")
  func keysAcrossRefillsAreDistinct() {
    var source = MaskingKeySource()
    var seen = Set<UInt64>()
    for _ in 0..<5000 { seen.insert(source.next()) }
    // 64-bit values from a CSPRNG: a repeat among 5,000 has a chance of about 1e-12, so a
    // repeat means a block was reused or left as it was (zeros).
    #expect(seen.count == 5000)
    #expect(!seen.contains(0))
  }
}
