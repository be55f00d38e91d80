import WebSocketDeflate
import WebSocketProtocol

/// What every receive-path target does with its input: the first byte picks the
/// options (permessage-deflate or not, where to split the input), the rest is what the
/// peer sent after a completed handshake.
public enum FuzzConnection {
  /// Small, so the limit paths (1009, the fragment count) are reached by short inputs.
  static let maxMessageSize = 4096

  public static func run(_ input: UnsafeRawBufferPointer, role: Role) {
    guard let options = input.first else { return }
    let body = UnsafeRawBufferPointer(rebasing: input[1...])
    let deflate = options & 1 != 0
    var codec: (any MessageExtension)? = nil
    if deflate {
      // Negotiated with context takeover both ways, the case with the most state.
      codec = DeflateParameters(clientMaxWindowBits: options & 2 != 0 ? 9 : nil).makeExtension(role: role)
    }
    var connection = WebSocketConnection(
      role: role,
      configuration: .init(maxMessageSize: maxMessageSize, maxFragments: 64, traceFrames: options & 4 != 0),
      extension: codec, random: SplitMix(seed: UInt64(options)))
    // Fed in two pieces at a split the input chooses, then byte by byte for a tail: the
    // parser's state must carry across reads of any size (wslay's and curl's rule).
    let split = body.isEmpty ? 0 : Int(options >> 3) % (body.count + 1)
    connection.receive(UnsafeRawBufferPointer(rebasing: body[..<split]))
    let rest = body[split...]
    if rest.count <= 64 {
      for i in rest.indices { connection.receive(UnsafeRawBufferPointer(rebasing: body[i..<(i + 1)])) }
    } else {
      connection.receive(UnsafeRawBufferPointer(rebasing: rest))
    }
    for event in connection.takeEvents() {
      if case .message(let m) = event {
        // A delivered message respects the limit, and text is valid UTF-8.
        precondition(m.data.count <= maxMessageSize, "message over maxMessageSize delivered")
        if m.kind == .text { precondition(UTF8Validator.isValid(m.data), "invalid UTF-8 delivered") }
      }
    }
    // Our answers (Pongs, Close) can be produced whatever came in.
    _ = connection.takeOutgoing()
    _ = connection.receiveEOF()
  }
}

/// A deterministic masking-key source (the fuzzer needs reproducible runs).
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// libFuzzer's entry when something else owns `main` (SwiftPM names each executable's
/// entry point `<Module>_main` and aliases `main` to it).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments over `callback`.
public func runFuzzer(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
  var argc = argc
  var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
  return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
