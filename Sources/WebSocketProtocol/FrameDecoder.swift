/// An incremental frame decoder with explicit states (in the style of wslay and curl's ws.c).
///
/// It validates each header as soon as the bytes that carry a field arrive, so a bad
/// frame fails before its payload is read or buffered, and it never copies payload bytes:
/// it reports ranges of the caller's input buffer, which the caller unmasks as it copies
/// them out. Correct for any split of the input, down to one byte per call.
public struct FrameDecoder: Sendable {
  /// What the decoder produced from the input.
  public enum Output: Sendable, Hashable {
    /// A complete, validated header.
    case header(FrameHeader)
    /// Payload bytes `range` of the input, which start at `offset` within the frame's payload.
    case payload(range: Range<Int>, offset: UInt64)
    /// The current frame's payload is complete.
    case frameEnd
    /// A whole frame found in the input at once: its validated header and its payload,
    /// bytes `payload` of the input (still masked if the header has a key). Equivalent to
    /// `.header`, `.payload` (when not empty) and `.frameEnd`; the common case when reads
    /// are large, so a small frame costs one call and no copy ("parsed in place").
    case frame(FrameHeader, payload: Range<Int>)
  }

  @usableFromInline enum State: Sendable {
    case header
    case payload(remaining: UInt64)
  }

  public let role: Role
  /// Largest payload accepted for one frame; longer frames fail with 1009 from the header alone.
  public var maxFrameSize: UInt64
  /// RSV bits that a negotiated extension allows; all others fail with 1002.
  public var allowedRSV: UInt8

  @usableFromInline var state: State = .header
  /// The header bytes received so far (at most 14).
  @usableFromInline var headerBytes: [UInt8] = []
  @usableFromInline var current = FrameHeader(opcode: .continuation, payloadLength: 0)

  public init(role: Role, maxFrameSize: UInt64 = 64 << 20, allowedRSV: UInt8 = 0) {
    self.role = role
    self.maxFrameSize = maxFrameSize
    self.allowedRSV = allowedRSV
  }

  /// The header of the frame being read (valid after `.header`).
  public var currentHeader: FrameHeader { current }

  /// True between frames, i.e. no partial header or payload is pending.
  public var isAtFrameBoundary: Bool {
    if case .header = state { return headerBytes.isEmpty }
    return false
  }

  private var headerCount: Int { headerBytes.count }

  private func headerByte(_ i: Int) -> UInt8 { headerBytes[i] }

  /// Decodes the next item from `input` starting at `index`, advancing `index`.
  /// Returns nil when `input` is exhausted and more bytes are needed.
  public mutating func next(_ input: UnsafeRawBufferPointer, index: inout Int) throws(ProtocolError)
    -> Output?
  {
    switch state {
    case .payload(let remaining):
      if remaining == 0 {
        state = .header
        return .frameEnd
      }
      guard index < input.count else { return nil }
      let available = UInt64(input.count - index)
      let take = min(available, remaining)
      let start = index
      index += Int(take)
      state = .payload(remaining: remaining - take)
      return .payload(range: start..<index, offset: current.payloadLength - remaining)
    case .header:
      if headerBytes.isEmpty, let whole = try wholeHeader(input, at: index) {
        current = whole.header
        let payloadStart = index + whole.size
        let length = whole.header.payloadLength
        if UInt64(input.count - payloadStart) >= length {
          index = payloadStart + Int(length)
          return .frame(whole.header, payload: payloadStart..<index)
        }
        index = payloadStart
        state = .payload(remaining: length)
        return .header(whole.header)
      }
      while index < input.count {
        headerBytes.append(input[index])
        index += 1
        if let header = try headerIfComplete() {
          current = header
          headerBytes.removeAll(keepingCapacity: true)
          state = .payload(remaining: header.payloadLength)
          return .header(header)
        }
      }
      return nil
    }
  }

  /// A whole small data frame at `index`, the common case of a client reading many small
  /// messages, recognised from its first two bytes: final, no RSV bit, text or binary,
  /// unmasked (so only in the client role, §5.1), a 7-bit length (§5.2) of at most
  /// `limit` and all of its payload in `input`. Then `index` moves past it and the
  /// frame's opcode and payload range are returned; otherwise nil and nothing moves, and
  /// `next` decodes the frame with every check. Every frame this accepts is one `next`
  /// would return as `.frame` with the same header (B2 spent a third of its instructions
  /// getting there, issue 17).
  @inlinable
  public mutating func smallDataFrame(_ input: UnsafeRawBufferPointer, index: inout Int, limit: Int)
    -> (opcode: Opcode, payload: Range<Int>)?
  {
    guard role == .client, case .header = state, headerBytes.isEmpty, let base = input.baseAddress,
      input.count - index >= 2
    else { return nil }
    let b0 = base.load(fromByteOffset: index, as: UInt8.self)
    let length = Int(base.load(fromByteOffset: index + 1, as: UInt8.self))
    // 0x81/0x82: FIN, RSV 0, text/binary. A length under 126 has the mask bit clear.
    guard b0 == 0x81 || b0 == 0x82, length < 126, length <= limit, UInt64(length) <= maxFrameSize,
      input.count - index - 2 >= length
    else { return nil }
    let opcode: Opcode = b0 == 0x81 ? .text : .binary
    current = FrameHeader(fin: true, rsv: 0, opcode: opcode, maskKey: nil, payloadLength: UInt64(length))
    let start = index + 2
    index = start + length
    return (opcode, start..<index)
  }

  /// The header at `index` when all of its bytes are in `input` (the usual case with
  /// large reads), parsed straight from the input with the same checks, in the same order,
  /// as the byte-at-a-time path; nil when it is split across reads.
  @inline(__always)
  private func wholeHeader(_ input: UnsafeRawBufferPointer, at index: Int) throws(ProtocolError)
    -> (header: FrameHeader, size: Int)?
  {
    let available = input.count - index
    guard available >= 2, let base = input.baseAddress else { return nil }
    let p = base + index
    let b0 = p.load(as: UInt8.self)
    let b1 = p.load(fromByteOffset: 1, as: UInt8.self)
    let len7 = b1 & 0x7F
    let lengthBytes = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0)
    let masked = b1 & 0x80 != 0
    let size = 2 + lengthBytes + (masked ? 4 : 0)
    guard available >= size else { return nil }
    let opcode = try checkFirstByte(b0)
    try checkSecondByte(opcode, b1)
    var length = UInt64(len7)
    if lengthBytes > 0 {
      length = 0
      for i in 0..<lengthBytes {
        length = length << 8 | UInt64(p.load(fromByteOffset: 2 + i, as: UInt8.self))
      }
    }
    try checkLength(length, lengthBytes: lengthBytes)
    var key: MaskKey? = nil
    if masked {
      let k = 2 + lengthBytes
      key = MaskKey(
        p.load(fromByteOffset: k, as: UInt8.self), p.load(fromByteOffset: k + 1, as: UInt8.self),
        p.load(fromByteOffset: k + 2, as: UInt8.self), p.load(fromByteOffset: k + 3, as: UInt8.self))
    }
    return (
      FrameHeader(fin: b0 & 0x80 != 0, rsv: b0 & 0x70, opcode: opcode, maskKey: key, payloadLength: length),
      size
    )
  }

  /// §5.2 checks on the first byte: RSV bits, opcode, fragmented control frames.
  @inline(__always)
  private func checkFirstByte(_ b0: UInt8) throws(ProtocolError) -> Opcode {
    let rsv = b0 & 0x70
    if rsv & ~allowedRSV != 0 { throw .reservedBitsSet(rsv) }
    guard let op = Opcode(rawValue: b0 & 0x0F) else { throw .reservedOpcode(b0 & 0x0F) }
    if op.isControl && b0 & 0x80 == 0 { throw .fragmentedControlFrame }
    if op.isControl && rsv != 0 { throw .reservedBitsSet(rsv) }
    return op
  }

  /// §5.1 and §5.5 checks on the second byte: the mask bit for our role, control frame length.
  @inline(__always)
  private func checkSecondByte(_ opcode: Opcode, _ b1: UInt8) throws(ProtocolError) {
    let masked = b1 & 0x80 != 0
    if masked != (role == .server) { throw .unexpectedMask(masked: masked) }
    if opcode.isControl && b1 & 0x7F > 125 { throw .controlFrameTooLong(UInt64(b1 & 0x7F)) }
  }

  /// §5.2 checks on the payload length: 63 bits, minimal encoding, and our frame-size limit.
  @inline(__always)
  private func checkLength(_ length: UInt64, lengthBytes: Int) throws(ProtocolError) {
    if lengthBytes == 8 && length >> 63 != 0 { throw .lengthOverflow }
    if (lengthBytes == 2 && length < 126) || (lengthBytes == 8 && length <= 0xFFFF) {
      throw .nonMinimalLength
    }
    if length > maxFrameSize { throw .messageTooBig(limit: Int(clamping: maxFrameSize)) }
  }

  /// Takes `count` payload bytes of the current frame that the caller received elsewhere
  /// (read straight into place) instead of through `next`.
  public mutating func consumePayload(_ count: Int) {
    guard case .payload(let remaining) = state, UInt64(count) <= remaining else {
      preconditionFailure("consumePayload outside a frame's payload")
    }
    state = .payload(remaining: remaining - UInt64(count))
  }

  /// Checks the fields received so far (§5.2) and returns the header once it is complete.
  private func headerIfComplete() throws(ProtocolError) -> FrameHeader? {
    let b0 = headerByte(0)
    if headerCount == 1 {
      _ = try checkFirstByte(b0)
      return nil
    }
    let b1 = headerByte(1)
    let masked = b1 & 0x80 != 0
    let opcode = Opcode(rawValue: b0 & 0x0F)!
    if headerCount == 2 { try checkSecondByte(opcode, b1) }
    let len7 = b1 & 0x7F
    let lengthBytes = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0)
    if headerCount < 2 + lengthBytes { return nil }
    var length = UInt64(len7)
    if lengthBytes > 0 {
      length = 0
      for i in 0..<lengthBytes { length = length << 8 | UInt64(headerByte(2 + i)) }
    }
    if headerCount == 2 + lengthBytes { try checkLength(length, lengthBytes: lengthBytes) }
    let total = 2 + lengthBytes + (masked ? 4 : 0)
    if headerCount < total { return nil }
    var key: MaskKey? = nil
    if masked {
      let k = 2 + lengthBytes
      key = MaskKey(headerByte(k), headerByte(k + 1), headerByte(k + 2), headerByte(k + 3))
    }
    return FrameHeader(
      fin: b0 & 0x80 != 0, rsv: b0 & 0x70, opcode: opcode, maskKey: key, payloadLength: length)
  }
}

/// A whole frame, for tests and simple users of the decoder.
public struct Frame: Sendable, Hashable {
  public var header: FrameHeader
  /// The payload, unmasked.
  public var payload: [UInt8]

  public init(header: FrameHeader, payload: [UInt8]) {
    self.header = header
    self.payload = payload
  }
}

extension FrameDecoder {
  /// Decodes every frame in `bytes` (payloads unmasked). Meant for whole frames: the
  /// payload of a trailing partial frame is not kept between calls.
  public mutating func frames(in bytes: [UInt8]) throws(ProtocolError) -> [Frame] {
    var result: [Frame] = []
    var partial: [UInt8] = []
    var failure: ProtocolError? = nil
    bytes.withUnsafeBytes { raw in
      var index = 0
      do throws(ProtocolError) {
        while let out = try next(raw, index: &index) {
          switch out {
          case .header: partial = []
          case .payload(let range, let offset):
            let start = partial.count
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[range]))
            if let key = current.maskKey {
              partial.withUnsafeMutableBytes { p in
                _ = Masking.apply(
                  key, to: UnsafeMutableRawBufferPointer(rebasing: p[start...]), phase: Int(offset & 3))
              }
            }
          case .frameEnd:
            result.append(Frame(header: current, payload: partial))
            partial = []
          case .frame(let header, let range):
            var payload = Array(UnsafeRawBufferPointer(rebasing: raw[range]))
            if let key = header.maskKey {
              payload.withUnsafeMutableBytes { _ = Masking.apply(key, to: $0) }
            }
            result.append(Frame(header: header, payload: payload))
          }
        }
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
    return result
  }
}
