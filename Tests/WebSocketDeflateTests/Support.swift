import CZlib
import Testing
import WebSocketDeflate
import WebSocketProtocol

/// SplitMix64: deterministic masking keys.
struct SplitMix64: RandomNumberGenerator, Sendable {
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

/// Bytes from hex text such as "c1 07 f2"; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
  let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
  return stride(from: 0, to: digits.count, by: 2).map { i in
    UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16)!
  }
}

/// A connection with permessage-deflate agreed as `parameters`.
func deflateConnection(
  role: Role = .client, parameters: DeflateParameters = DeflateParameters(), maxMessageSize: Int = 64 << 20,
  seed: UInt64 = 7
) -> WebSocketConnection {
  WebSocketConnection(
    role: role, configuration: .init(maxMessageSize: maxMessageSize),
    extension: parameters.makeExtension(role: role), random: SplitMix64(seed: seed))
}

/// What a connection produced from `chunks`.
struct Received {
  var messages: [Message]
  var failure: ProtocolError?
  var outgoing: [UInt8]
}

func receive(_ chunks: [[UInt8]], into connection: inout WebSocketConnection) -> Received {
  var messages: [Message] = []
  for chunk in chunks {
    connection.receive(chunk)
    for case .message(let m) in connection.takeEvents() { messages.append(m) }
  }
  return Received(messages: messages, failure: connection.failure, outgoing: connection.takeOutgoing())
}

/// Feeds `input` to a fresh connection whole and one byte at a time; both must agree.
func receiveBothWays(
  _ input: [UInt8], parameters: DeflateParameters = DeflateParameters(), maxMessageSize: Int = 64 << 20,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Received {
  var whole = deflateConnection(parameters: parameters, maxMessageSize: maxMessageSize)
  let a = receive([input], into: &whole)
  var bytewise = deflateConnection(parameters: parameters, maxMessageSize: maxMessageSize)
  let b = receive(input.map { [$0] }, into: &bytewise)
  #expect(a.messages == b.messages, "byte by byte", sourceLocation: sourceLocation)
  #expect(a.failure == b.failure, "byte by byte", sourceLocation: sourceLocation)
  return a
}

/// Frames in `bytes` as a peer in `role` decodes them (payloads unmasked, still compressed).
func frames(_ bytes: [UInt8], readBy role: Role) throws -> [Frame] {
  var decoder = FrameDecoder(role: role, maxFrameSize: 1 << 30, allowedRSV: FrameHeader.rsv1)
  return try decoder.frames(in: bytes)
}

/// Raw inflate of `data` + `00 00 ff ff` with a `windowBits` window, as a strict peer would.
/// Returns nil if zlib rejects the data.
func rawInflate(_ data: [UInt8], windowBits: Int32, stream: UnsafeMutablePointer<z_stream>) -> [UInt8]? {
  var input = data + [0, 0, 0xFF, 0xFF]
  var out: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 1 << 16)
  let ok = input.withUnsafeMutableBufferPointer { inp -> Bool in
    stream.pointee.next_in = inp.baseAddress
    stream.pointee.avail_in = UInt32(inp.count)
    repeat {
      let (rc, n) = chunk.withUnsafeMutableBufferPointer { c -> (Int32, Int) in
        stream.pointee.next_out = c.baseAddress
        stream.pointee.avail_out = UInt32(c.count)
        let rc = inflate(stream, Z_SYNC_FLUSH)
        return (rc, c.count - Int(stream.pointee.avail_out))
      }
      out += chunk[..<n]
      if rc != Z_OK && rc != Z_BUF_ERROR { return false }
      if rc == Z_BUF_ERROR && n == 0 { break }
    } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
    return true
  }
  return ok ? out : nil
}

/// A raw inflater with `windowBits` (negative: raw deflate).
func makeInflater(windowBits: Int32) -> UnsafeMutablePointer<z_stream> {
  let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
  s.initialize(to: z_stream())
  precondition(wsc_inflateInit2(s, windowBits) == Z_OK)
  return s
}

func freeInflater(_ s: UnsafeMutablePointer<z_stream>) {
  inflateEnd(s)
  s.deallocate()
}

/// Raw deflate of `data` with a full 15-bit window, sync flush, tail removed.
func rawDeflate(_ data: [UInt8], level: Int32 = 9) -> [UInt8] {
  let codec = DeflateCodec(parameters: DeflateParameters(), role: .server)
  var payload: [UInt8] = []
  data.withUnsafeBytes { payload = try! codec.encode($0, isFirst: true, isFinal: true).payload }
  return payload
}

/// A server frame (unmasked) carrying `payload`.
func serverFrame(_ opcode: Opcode, _ payload: [UInt8], rsv: UInt8 = FrameHeader.rsv1, fin: Bool = true)
  -> [UInt8]
{
  var out: [UInt8] = []
  FrameHeader(fin: fin, rsv: rsv, opcode: opcode, payloadLength: UInt64(payload.count)).write(into: &out)
  return out + payload
}
