/// The sans-I/O WebSocket state machine (RFC 6455 §5–§7) for an open connection.
///
/// Bytes from the network go in through `receive(_:)` and `receiveEOF()`; the application's
/// actions go in through `send`, `ping`, `pong` and `close`; events come out of
/// `takeEvents()` and bytes to write out of `takeOutgoing()` (or `withOutgoing`). It does no
/// I/O, reads no clock and starts no thread, so tests drive it byte by byte. Both roles are
/// supported: a client masks what it sends and rejects masked input; a server the reverse.
///
/// Limits (all checked from the frame header, before any payload is buffered):
/// - `maxMessageSize` (default 64 MiB): a larger message fails the connection with 1009.
/// - `maxFragments` (default 100,000): a message split into more frames fails with 1009,
///   which bounds the "long stream of small frames" of §10.4.
/// - Control frames: at most 125 bytes and never fragmented (§5.5).
/// Non-minimal length encodings are rejected (strict reading of §5.2).
///
/// With a `MessageExtension` (permessage-deflate), the RSV bits it claims are allowed on the
/// first frame of a data message only; such a message's payload goes through the extension
/// frame by frame as it arrives, `maxMessageSize` applies to the decoded bytes, and text is
/// validated after decoding. The frame-size limit still applies to the encoded frame.
public struct WebSocketConnection {
  /// Limits and options.
  public struct Configuration: Sendable {
    public var maxMessageSize: Int
    public var maxFragments: Int
    /// Emit a `.frame` event for every frame sent and received (for `-v`).
    public var traceFrames: Bool
    /// With more unwritten bytes than this, Pongs wait and only the latest Ping is answered
    /// (§5.5.3 allows it), so a Ping flood against a peer that does not read stays bounded.
    public var pongDeferThreshold: Int

    public init(
      maxMessageSize: Int = 64 << 20, maxFragments: Int = 100_000, traceFrames: Bool = false,
      pongDeferThreshold: Int = 1 << 20
    ) {
      self.maxMessageSize = maxMessageSize
      self.maxFragments = maxFragments
      self.traceFrames = traceFrames
      self.pongDeferThreshold = pongDeferThreshold
    }
  }

  /// Where the closing handshake stands (§7).
  public enum State: Sendable, Hashable {
    /// Data flows both ways.
    case open
    /// We sent a Close and wait for the peer's (§7.1.2); incoming data is still delivered.
    case closeSent
    /// Both Close frames have been exchanged; the TCP connection can be closed (§7.1.1).
    case closed
    /// We failed the connection (§7.1.7); nothing more is processed.
    case failed
  }

  public let role: Role
  public let configuration: Configuration
  public private(set) var state: State = .open
  /// The peer's Close frame, once received.
  public private(set) var receivedClose: CloseFrame?
  /// Our Close frame, once sent.
  public private(set) var sentClose: CloseFrame?
  /// The error that failed the connection, if any.
  public private(set) var failure: ProtocolError?

  private var random: any RandomNumberGenerator
  /// The negotiated per-message extension, if any.
  public let messageExtension: (any MessageExtension)?
  private var decoder: FrameDecoder
  private var events: [WebSocketEvent] = []
  private var outgoing = ByteQueue()
  private var deferredPong: [UInt8]?

  // Incoming message assembly.
  private var messageKind: Message.Kind?
  private var messageBuffer: [UInt8] = []
  private var messageFragments = 0
  private var messageValidator = UTF8Validator()
  private var controlBuffer: [UInt8] = []
  private var frameStart = 0
  /// The message being received is transformed by `messageExtension` (RSV bit on its first frame).
  private var messageEncoded = false
  /// Scratch space to unmask encoded payload (server role) before decoding it.
  private var decodeScratch: [UInt8] = []
  /// Set while a large single-frame message is read straight into `messageBuffer`, which
  /// then already has the frame's length: how many of its bytes have arrived.
  private var directFilled: Int?

  // Outgoing fragmentation.
  private var sendingKind: Message.Kind?
  private var sendValidator = UTF8Validator()

  /// Creates the state machine for a connection whose opening handshake has completed.
  /// `random` supplies masking keys; production code passes `SystemRandomNumberGenerator()`
  /// (a cryptographic source, as §5.3 and §10.3 require), tests a seeded generator.
  /// `extension` is the codec of the extension agreed in the handshake, if any.
  public init(
    role: Role, configuration: Configuration = Configuration(),
    extension: (any MessageExtension)? = nil,
    random: any RandomNumberGenerator = SystemRandomNumberGenerator()
  ) {
    self.role = role
    self.configuration = configuration
    self.random = random
    self.messageExtension = `extension`
    var maxFrame = UInt64(max(configuration.maxMessageSize, 125))
    if `extension` != nil {
      // An incompressible message of exactly the limit grows a little when deflated
      // (stored blocks: 5 bytes per 64 KiB); the exact limit is enforced after decoding.
      maxFrame += maxFrame / 1024 + 1024
    }
    self.decoder = FrameDecoder(
      role: role, maxFrameSize: maxFrame, allowedRSV: `extension`?.rsvMask ?? 0)
  }

  // MARK: Output

  /// Returns and clears the pending events.
  public mutating func takeEvents() -> [WebSocketEvent] {
    defer { events.removeAll(keepingCapacity: true) }
    return events
  }

  /// True when events are pending.
  public var hasEvents: Bool { !events.isEmpty }

  /// Number of bytes waiting to be written.
  public var outgoingCount: Int { outgoing.count }

  /// Returns and clears the bytes waiting to be written.
  public mutating func takeOutgoing() -> [UInt8] {
    let result = outgoing.withUnsafeBytes { Array($0) }
    outgoing.removeAll()
    sendDeferredPong()
    return result
  }

  private mutating func sendDeferredPong() {
    guard let payload = deferredPong, outgoingCount <= configuration.pongDeferThreshold else { return }
    deferredPong = nil
    if state == .open { try? writeControl(.pong, payload) }
  }

  /// Frees the output buffer when all of it has been written and its capacity is over
  /// `limit` bytes, so an idle connection keeps no more than that: ten thousand
  /// listen-mode clients that each kept the buffer a broadcast grew took 570 MiB at
  /// the broadcast's end instead of 220 (issue 17).
  public mutating func releaseOutgoingBuffer(keepingCapacity limit: Int) {
    outgoing.release(keepingCapacity: limit)
  }

  /// Makes room for `count` more bytes of output, so that a batch of messages about to be
  /// encoded grows the buffer once instead of by doubling, copying as it goes.
  public mutating func reserveOutgoing(_ count: Int) {
    outgoing.reserve(count)
  }

  /// Lends the unwritten bytes to `write`, which returns how many it wrote; those are dropped.
  public mutating func withOutgoing(_ write: (UnsafeRawBufferPointer) -> Int) {
    guard outgoingCount > 0 else { return }
    let written = outgoing.withUnsafeBytes { write($0) }
    outgoing.consume(written)
    if outgoing.isEmpty { outgoing.release(keepingCapacity: 1 << 20) }
    sendDeferredPong()
  }

  // MARK: Input

  /// Whether incoming bytes are still processed (not after the peer's Close or a failure).
  public var isReading: Bool { receivedClose == nil && state != .failed }

  /// Feeds bytes received from the network.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) {
    var index = 0
    while index < bytes.count && isReading {
      index += receiveSome(UnsafeRawBufferPointer(rebasing: bytes[index...]))
    }
    // A zero-length frame's end is reported after its header, even with no bytes left.
    if isReading { _ = receiveSome(UnsafeRawBufferPointer(rebasing: bytes[bytes.count...])) }
  }

  /// Feeds bytes but stops after the first complete message or control frame, and returns
  /// how many bytes it consumed. An application that answers messages (an echo peer) takes
  /// the events and queues its reply before feeding the rest, so a reply to a valid
  /// message goes out before the Close of a protocol error that follows it in the same
  /// read (Autobahn 3.2, 4.1.3, 5.15: the earlier message is not lost).
  public mutating func receiveSome(_ bytes: UnsafeRawBufferPointer) -> Int {
    receiveSome(bytes, onMessage: nil)
  }

  /// A consumer of data messages whose payload is lent for the duration of the call.
  public typealias MessageHandler = (Message.Kind, UnsafeRawBufferPointer) -> Void

  /// Like `receiveSome(_:)`, but a complete data message goes to `onMessage`, when no event
  /// is pending before it, instead of becoming a `.message` event: no copy into a new array
  /// per message. The payload is lent for the duration of the call: the input itself for an
  /// unfragmented, unmasked, unencoded frame that arrived whole ("parsed in place",
  /// DESIGN.md §3), otherwise the connection's message buffer, which is reused. Text is
  /// validated (§8.1) before the call, exactly as for the event.
  ///
  /// After a message lent to `onMessage` the call returns, so the caller can act on what
  /// the handler did (encode a reply before the next message is parsed), unless
  /// `pauseAfterMessage` says there is nothing to act on: then it goes on with the next
  /// small frame, and a burst of small messages costs one call, not one each.
  public mutating func receiveSome(
    _ bytes: UnsafeRawBufferPointer, onMessage: MessageHandler?, pauseAfterMessage: () -> Bool = { true }
  ) -> Int {
    var index = 0
    while isReading {
      if let onMessage, events.isEmpty, messageKind == nil, !configuration.traceFrames,
        configuration.maxFragments >= 1,
        let small = decoder.smallDataFrame(bytes, index: &index, limit: configuration.maxMessageSize)
      {
        // What `.frame` below does for such a frame, without building its header first.
        let payload = UnsafeRawBufferPointer(rebasing: bytes[small.payload])
        if small.opcode == .text && !UTF8Validator.isValid(payload) {
          fail(.invalidUTF8)
          return index
        }
        onMessage(small.opcode == .text ? .text : .binary, payload)
        if !pauseAfterMessage() { continue }
        return index
      }
      let output: FrameDecoder.Output?
      do {
        output = try decoder.next(bytes, index: &index)
      } catch {
        fail(error)
        return index
      }
      guard let output else { return index }
      do throws(ProtocolError) {
        switch output {
        case .header(let header): try startFrame(header, mayReadDirectly: true)
        case .payload(let range, let offset):
          try appendPayload(UnsafeRawBufferPointer(rebasing: bytes[range]), offset: offset)
        case .frameEnd:
          if try endFrame(onMessage) { return index }
        case .frame(let header, let range):
          let payload = UnsafeRawBufferPointer(rebasing: bytes[range])
          if let onMessage, canLendInPlace(header) {
            try startFrame(header, inPlace: true)
            if header.opcode == .text && !UTF8Validator.isValid(payload) { throw ProtocolError.invalidUTF8 }
            messageKind = nil
            onMessage(header.opcode == .text ? .text : .binary, payload)
            return index
          }
          try startFrame(header)
          if !payload.isEmpty { try appendPayload(payload, offset: 0) }
          if try endFrame(onMessage) { return index }
        }
      } catch {
        fail(error)
        return index
      }
    }
    return index
  }

  /// Whether a whole frame is a complete message that can be lent straight from the input:
  /// a final text or binary frame, unmasked, not transformed by an extension, with no event
  /// (or frame trace) that must be reported before it.
  private func canLendInPlace(_ header: FrameHeader) -> Bool {
    header.fin && header.maskKey == nil && header.rsv == 0
      && (header.opcode == .text || header.opcode == .binary) && events.isEmpty
      && !configuration.traceFrames
  }

  /// The message buffer keeps its storage between messages up to this size, so a stream
  /// of large messages is not a stream of large allocations.
  static let keptMessageCapacity = 16 << 20

  /// Single-frame messages at least this long whose payload is not all in one read are read
  /// straight into their buffer (`receivePayloadDirectly`).
  static let directPayloadThreshold: UInt64 = 64 << 10

  /// Bytes the connection can take straight from the transport: while a large, unmasked,
  /// unencoded single-frame message is being received, the rest of its payload; else 0.
  public var directPayloadRemaining: Int {
    guard let filled = directFilled, isReading else { return 0 }
    return messageBuffer.count - filled
  }

  /// Lends `read` the free part of the buffer of the message being received (at most
  /// `directPayloadRemaining` bytes) and takes the `count` bytes it reports having written
  /// there as payload, as `receiveSome` would have: validated as they arrive (so invalid
  /// text still fails at the first bad byte), and the message delivered to `onMessage` (or
  /// as an event) once complete. This saves copying a large message out of a read buffer
  /// (DESIGN.md §3). Returns `count`.
  @discardableResult
  public mutating func receivePayloadDirectly(
    onMessage: MessageHandler?, _ read: (UnsafeMutableRawBufferPointer) -> Int
  ) -> Int {
    guard let filled = directFilled, isReading else { return 0 }
    let total = messageBuffer.count
    let count = messageBuffer.withUnsafeMutableBytes {
      read(UnsafeMutableRawBufferPointer(rebasing: $0[filled..<total]))
    }
    guard count > 0 else { return 0 }
    precondition(count <= total - filled, "read more than the free space it was lent")
    decoder.consumePayload(count)
    directFilled = filled + count
    if messageKind == .text {
      let ok = messageBuffer.withUnsafeBytes {
        messageValidator.feed(UnsafeRawBufferPointer(rebasing: $0[filled..<filled + count]))
      }
      if !ok {
        fail(.invalidUTF8)
        return count
      }
    }
    // The frame's end needs no input; `receiveSome` reports it and delivers the message.
    if filled + count == total {
      _ = receiveSome(UnsafeRawBufferPointer(start: nil, count: 0), onMessage: onMessage)
    }
    return count
  }

  /// Feeds bytes received from the network.
  public mutating func receive(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { receive($0) }
  }

  /// Whether an EOF now would be a clean end: after the closing handshake or our failure.
  public var eofIsClean: Bool { state == .closed || state == .failed || receivedClose != nil }

  private mutating func startFrame(
    _ header: FrameHeader, inPlace: Bool = false, mayReadDirectly: Bool = false
  ) throws(ProtocolError) {
    if header.opcode.isControl {
      controlBuffer.removeAll(keepingCapacity: true)
      return
    }
    switch header.opcode {
    case .continuation:
      guard messageKind != nil else { throw .unexpectedContinuation }
      // RFC 7692 §6: the extension's bit marks a message on its first frame only.
      if header.rsv != 0 { throw .reservedBitsSet(header.rsv) }
    case .text, .binary:
      guard messageKind == nil else { throw .expectedContinuation }
      messageKind = header.opcode == .text ? .text : .binary
      messageFragments = 0
      messageValidator = UTF8Validator()
      messageEncoded = header.rsv != 0
    default: break
    }
    messageFragments += 1
    if messageFragments > configuration.maxFragments {
      throw .tooManyFragments(limit: configuration.maxFragments)
    }
    if messageEncoded {
      // The limit applies to the decoded size, checked by the extension as it decodes.
      frameStart = messageBuffer.count
      return
    }
    // `header.payloadLength` is bounded by the decoder's maxFrameSize, so this cannot overflow.
    if UInt64(messageBuffer.count) + header.payloadLength > UInt64(configuration.maxMessageSize) {
      throw .messageTooBig(limit: configuration.maxMessageSize)
    }
    frameStart = messageBuffer.count
    if mayReadDirectly && header.fin && header.maskKey == nil && messageFragments == 1
      && header.payloadLength >= Self.directPayloadThreshold && !configuration.traceFrames
    {
      // The whole message is this frame: size the buffer for it, so the rest of the
      // payload can be read into place (`receivePayloadDirectly`). Every byte is written
      // before the message is read, and the buffer is dropped if the frame fails.
      let length = Int(header.payloadLength)
      messageBuffer = [UInt8](unsafeUninitializedCapacity: length) { _, count in count = length }
      directFilled = 0
      return
    }
    if !inPlace && messageBuffer.capacity < messageBuffer.count + Int(header.payloadLength) {
      messageBuffer.reserveCapacity(messageBuffer.count + Int(header.payloadLength))
    }
  }

  private mutating func appendPayload(_ chunk: UnsafeRawBufferPointer, offset: UInt64) throws(ProtocolError) {
    let header = decoder.currentHeader
    if header.opcode.isControl {
      append(chunk, to: &controlBuffer, key: header.maskKey, offset: offset)
      return
    }
    if let filled = directFilled {
      messageBuffer.withUnsafeMutableBytes {
        $0.baseAddress!.advanced(by: filled).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
      }
      directFilled = filled + chunk.count
      if messageKind == .text && !messageValidator.feed(chunk) { throw .invalidUTF8 }
      return
    }
    if messageEncoded {
      try decodeAndValidate(chunk, key: header.maskKey, offset: offset, isFinal: false)
      return
    }
    let start = messageBuffer.count
    append(chunk, to: &messageBuffer, key: header.maskKey, offset: offset)
    if messageKind == .text {
      let ok = messageBuffer.withUnsafeBytes {
        messageValidator.feed(UnsafeRawBufferPointer(rebasing: $0[start...]))
      }
      if !ok { throw .invalidUTF8 }
    }
  }

  /// Inflates `chunk` onto the message, then checks the new text as UTF-8 before it reports
  /// an inflate failure (corrupt data, 1002; over the limit, 1009). What was inflated before
  /// the failure is the same however TCP split the input, so this order makes the close
  /// code independent of the split (issue 21, found by fuzzing).
  private mutating func decodeAndValidate(
    _ chunk: UnsafeRawBufferPointer, key: MaskKey?, offset: UInt64, isFinal: Bool
  ) throws(ProtocolError) {
    let start = messageBuffer.count
    var failure: ProtocolError?
    do throws(ProtocolError) {
      try decodePayload(chunk, key: key, offset: offset, isFinal: isFinal)
    } catch {
      failure = error
    }
    if messageKind == .text && messageBuffer.count > start {
      let ok = messageBuffer.withUnsafeBytes {
        messageValidator.feed(UnsafeRawBufferPointer(rebasing: $0[start...]))
      }
      if !ok { throw .invalidUTF8 }
    }
    if let failure { throw failure }
  }

  private mutating func decodePayload(
    _ chunk: UnsafeRawBufferPointer, key: MaskKey?, offset: UInt64, isFinal: Bool
  ) throws(ProtocolError) {
    guard let codec = messageExtension else { return }
    let limit = configuration.maxMessageSize
    guard let key else {
      try codec.decode(chunk, isFinal: isFinal, into: &messageBuffer, limit: limit)
      return
    }
    decodeScratch.removeAll(keepingCapacity: decodeScratch.capacity <= 1 << 20)
    append(chunk, to: &decodeScratch, key: key, offset: offset)
    var failure: ProtocolError?
    decodeScratch.withUnsafeBytes { p in
      do throws(ProtocolError) {
        try codec.decode(p, isFinal: isFinal, into: &messageBuffer, limit: limit)
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  private func append(
    _ chunk: UnsafeRawBufferPointer, to buffer: inout [UInt8], key: MaskKey?, offset: UInt64
  ) {
    let start = buffer.count
    buffer.append(contentsOf: chunk)
    if let key {
      buffer.withUnsafeMutableBytes { p in
        _ = Masking.apply(
          key, to: UnsafeMutableRawBufferPointer(rebasing: p[start...]), phase: Int(offset & 3))
      }
    }
  }

  /// Finishes the current frame; returns true when it produced an event or a message.
  private mutating func endFrame(_ onMessage: MessageHandler?) throws(ProtocolError) -> Bool {
    let before = events.count
    let delivered = try finishFrame(onMessage)
    return delivered || events.count > before
  }

  /// Returns true when it handed a message to `onMessage`.
  private mutating func finishFrame(_ onMessage: MessageHandler?) throws(ProtocolError) -> Bool {
    let header = decoder.currentHeader
    if configuration.traceFrames {
      let payload = header.opcode.isControl ? controlBuffer[...] : messageBuffer[frameStart...]
      events.append(
        .frame(
          FrameTrace(
            direction: .received, header: header, preview: Array(payload.prefix(FrameTrace.previewLength)))))
    }
    switch header.opcode {
    case .ping:
      let payload = controlBuffer
      events.append(.ping(payload))
      // §5.5.2: answer with identical data, unless we already sent our Close.
      if state == .open {
        if outgoingCount > configuration.pongDeferThreshold {
          deferredPong = payload
        } else {
          try? writeControl(.pong, payload)
        }
      }
    case .pong:
      events.append(.pong(controlBuffer))
    case .close:
      try receiveClose(controlBuffer)
    default:
      guard header.fin else { return false }
      if messageEncoded {
        try decodeAndValidate(
          UnsafeRawBufferPointer(start: nil, count: 0), key: nil, offset: 0, isFinal: true)
        messageEncoded = false
      }
      if messageKind == .text && !messageValidator.isComplete { throw .invalidUTF8 }
      let kind = messageKind ?? .binary
      messageKind = nil
      directFilled = nil
      if let onMessage, events.isEmpty {
        messageBuffer.withUnsafeBytes { onMessage(kind, $0) }
        messageBuffer.removeAll(keepingCapacity: messageBuffer.capacity <= Self.keptMessageCapacity)
        return true
      }
      let data = messageBuffer
      messageBuffer = []
      events.append(.message(Message(kind: kind, data: data)))
    }
    return false
  }

  private mutating func receiveClose(_ payload: [UInt8]) throws(ProtocolError) {
    var frame = CloseFrame(code: nil)
    if payload.count == 1 { throw .closePayloadTooShort }
    if payload.count >= 2 {
      let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
      guard CloseCode.isValidOnWire(code) else { throw .invalidCloseCode(code) }
      let reason = Array(payload[2...])
      guard reason.withUnsafeBytes({ UTF8Validator.isValid($0) }) else { throw .invalidUTF8 }
      frame = CloseFrame(code: code, reason: reason)
    }
    receivedClose = frame
    // A message interrupted by the Close is incomplete and is discarded (§7.1.6 leaves it undelivered).
    messageBuffer = []
    directFilled = nil
    messageKind = nil
    messageEncoded = false
    events.append(.close(frame))
    if sentClose == nil {
      // §5.5.1: reply with a Close, "typically echoing the status code it received".
      let reply = CloseFrame(code: frame.code)
      writeClose(reply)
    }
    state = .closed
  }

  /// Reports that the transport reached EOF. Returns true if that is a clean end
  /// (after the closing handshake, or after we failed), false for an abnormal closure (1006, §7.1.5).
  @discardableResult
  public mutating func receiveEOF() -> Bool {
    let clean = eofIsClean
    if state != .failed { state = .closed }
    return clean
  }

  /// Fails the connection (§7.1.7): queues a Close with the error's code if we have not sent
  /// one, stops processing input and reports `.failed`.
  public mutating func fail(_ error: ProtocolError) {
    guard state != .failed else { return }
    failure = error
    stopReading(
      closingWith: CloseFrame(code: error.closeCode, reason: Array(Self.truncatedReason(error.description))))
    events.append(.failed(error))
  }

  /// Gives up on the connection for a local reason, such as a keepalive Ping left
  /// unanswered (§7.1.7 "Fail the WebSocket Connection"): queues a Close with `code` unless
  /// a Close was sent or received, and stops processing input. Unlike `fail(_:)` it reports
  /// no event and records no `failure`: the peer did nothing wrong, and the caller knows why.
  public mutating func abandon(code: UInt16, reason: String) {
    guard state != .failed && state != .closed else { return }
    stopReading(closingWith: CloseFrame(code: code, reason: Array(Self.truncatedReason(reason))))
  }

  /// What failing and abandoning share: drop the message in progress, queue `close` unless
  /// a Close was already sent or received, and enter `.failed`.
  private mutating func stopReading(closingWith close: CloseFrame) {
    messageBuffer = []
    directFilled = nil
    messageKind = nil
    messageEncoded = false
    if sentClose == nil && receivedClose == nil { writeClose(close) }
    state = .failed
  }

  // MARK: Sending

  /// Whether data frames may still be sent (§5.5.1: none after our Close).
  public var canSend: Bool { sentClose == nil && state == .open }

  /// Sends one frame of a data message. Text must be valid UTF-8 across the fragments
  /// (§5.6); the first frame carries `kind`, later ones are continuations (§5.4).
  public mutating func send(
    _ kind: Message.Kind, _ payload: UnsafeRawBufferPointer, fin: Bool = true, continuing: Bool = false
  ) throws(UsageError) {
    guard canSend else { throw .connectionClosing }
    if continuing != (sendingKind != nil) { throw .fragmentationOrder }
    if continuing && sendingKind != kind { throw .fragmentationOrder }
    // Validate on a copy: a refused fragment leaves the state untouched, so a message whose
    // earlier fragments are already on the wire stays open and can only be continued (§5.4).
    var validator = continuing ? sendValidator : UTF8Validator()
    if kind == .text {
      guard validator.feed(payload), !fin || validator.isComplete else { throw .invalidUTF8 }
    }
    let opcode: Opcode = continuing ? .continuation : (kind == .text ? .text : .binary)
    if let codec = messageExtension {
      let encoded: (payload: [UInt8], rsv: UInt8)
      do throws(ExtensionEncodingError) {
        encoded = try codec.encode(payload, isFirst: !continuing, isFinal: fin)
      } catch {
        throw .extensionFailed(error.description)
      }
      var failure: UsageError?
      encoded.payload.withUnsafeBytes { p in
        do throws(UsageError) {
          try writeFrame(opcode, p, fin: fin, rsv: continuing ? 0 : encoded.rsv, preview: payload)
        } catch {
          failure = error
        }
      }
      if let failure { throw failure }
    } else {
      try writeFrame(opcode, payload, fin: fin)
    }
    sendValidator = validator
    sendingKind = fin ? nil : kind
  }

  /// Sends a whole message.
  public mutating func send(_ kind: Message.Kind, _ payload: [UInt8]) throws(UsageError) {
    var failure: UsageError?
    payload.withUnsafeBytes { p in
      do throws(UsageError) { try send(kind, p) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Sends a Ping (§5.5.2); at most 125 bytes.
  public mutating func ping(_ payload: [UInt8] = []) throws(UsageError) {
    guard canSend else { throw .connectionClosing }
    try writeControl(.ping, payload)
  }

  /// Sends an unsolicited Pong (§5.5.3); at most 125 bytes.
  public mutating func pong(_ payload: [UInt8] = []) throws(UsageError) {
    guard canSend else { throw .connectionClosing }
    try writeControl(.pong, payload)
  }

  /// Starts the closing handshake (§7.1.2). `code` nil sends an empty Close; the reason is
  /// cut to 123 bytes on a character boundary. Returns without effect if a Close was already sent.
  public mutating func close(code: UInt16? = CloseCode.normalClosure, reason: String = "") throws(UsageError)
  {
    if let code, !CloseCode.isValidOnWire(code) { throw .invalidCloseCode(code) }
    guard sentClose == nil, state != .failed else { return }
    writeClose(CloseFrame(code: code, reason: code == nil ? [] : Array(Self.truncatedReason(reason))))
    if receivedClose != nil { state = .closed } else { state = .closeSent }
  }

  /// The longest prefix of `reason` that fits a Close frame (123 bytes, §5.5), cut between characters.
  public static func truncatedReason(_ reason: String) -> Substring.UTF8View {
    var end = reason.startIndex
    var bytes = 0
    for i in reason.unicodeScalars.indices {
      let n = reason.unicodeScalars[i].utf8.count
      if bytes + n > 123 { break }
      bytes += n
      end = reason.unicodeScalars.index(after: i)
    }
    return reason[..<end].utf8
  }

  private mutating func writeClose(_ frame: CloseFrame) {
    var payload: [UInt8] = []
    if let code = frame.code {
      payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + frame.reason
    }
    sentClose = frame
    sendingKind = nil
    try? writeControl(.close, payload)
  }

  private mutating func writeControl(_ opcode: Opcode, _ payload: [UInt8]) throws(UsageError) {
    var failure: UsageError?
    payload.withUnsafeBytes { p in
      do throws(UsageError) { try writeFrame(opcode, p, fin: true) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Writes one frame; `preview` (the payload before the extension encoded it) is what `-v` shows.
  private mutating func writeFrame(
    _ opcode: Opcode, _ payload: UnsafeRawBufferPointer, fin: Bool, rsv: UInt8 = 0,
    preview: UnsafeRawBufferPointer? = nil
  ) throws(UsageError) {
    if opcode.isControl && payload.count > 125 { throw .controlPayloadTooLong(payload.count) }
    let key: MaskKey? =
      role == .client ? MaskKey(random: UInt32(truncatingIfNeeded: random.next() as UInt64)) : nil
    let header = FrameHeader(
      fin: fin, rsv: rsv, opcode: opcode, maskKey: key, payloadLength: UInt64(payload.count))
    if configuration.traceFrames {
      events.append(
        .frame(
          FrameTrace(
            direction: .sent, header: header,
            preview: Array((preview ?? payload).prefix(FrameTrace.previewLength)))))
    }
    // Header, payload and mask in one pass, straight into the output.
    outgoing.append(upTo: FrameHeader.maxSize + payload.count) { room in
      let n = header.write(to: room.baseAddress!)
      let body = UnsafeMutableRawBufferPointer(rebasing: room[n..<n + payload.count])
      if let key {
        Masking.copy(payload, to: body, key: key)
      } else if let source = payload.baseAddress {
        body.baseAddress!.copyMemory(from: source, byteCount: payload.count)
      }
      return n + payload.count
    }
  }
}
