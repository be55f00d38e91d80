import Testing
import WebSocketProtocol

// Shared helpers for the RFC 6455 tests: hex input, a deterministic random source, and
// drivers that feed a connection or a frame decoder whole, byte by byte and at every split.

/// SplitMix64: a small deterministic generator, so masking and handshake keys are reproducible.
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

/// Bytes from hex text such as "81 05 48 65"; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
  let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
  precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
  return stride(from: 0, to: digits.count, by: 2).map { i in
    UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16)!
  }
}

/// The UTF-8 bytes of `text`.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A text message event.
func textMessage(_ text: String) -> WebSocketEvent {
  .message(Message(kind: .text, data: Array(text.utf8)))
}

/// A binary message event.
func binaryMessage(_ data: [UInt8]) -> WebSocketEvent {
  .message(Message(kind: .binary, data: data))
}

/// Ways to cut `input` into chunks: whole, one byte per chunk, and (when `everySplit`)
/// two chunks cut at every interior position.
func choppings(_ input: [UInt8], everySplit: Bool = true) -> [(name: String, chunks: [[UInt8]])] {
  var result: [(name: String, chunks: [[UInt8]])] = [
    ("whole", [input]), ("byte by byte", input.map { [$0] }),
  ]
  if everySplit && input.count > 1 {
    for i in 1..<input.count {
      result.append(("split at \(i)", [Array(input[..<i]), Array(input[i...])]))
    }
  }
  return result
}

/// Everything a connection produced from some input.
struct Outcome: Equatable {
  var events: [WebSocketEvent]
  var outgoing: [UInt8]
  var state: WebSocketConnection.State
  var failure: ProtocolError?

  /// True when a data message was delivered.
  var deliveredMessages: [Message] {
    events.compactMap { if case .message(let m) = $0 { return m } else { return nil } }
  }
}

/// Feeds `chunks` in order to a fresh connection and collects what it produced.
func feed(
  _ chunks: [[UInt8]], role: Role = .client,
  configuration: WebSocketConnection.Configuration = .init(), seed: UInt64 = 42
) -> Outcome {
  var connection = WebSocketConnection(
    role: role, configuration: configuration, random: SplitMix64(seed: seed))
  var events: [WebSocketEvent] = []
  for chunk in chunks {
    connection.receive(chunk)
    events += connection.takeEvents()
  }
  return Outcome(
    events: events, outgoing: connection.takeOutgoing(), state: connection.state, failure: connection.failure)
}

/// Collects what a connection reports, in order: events, and the messages it lends to
/// `handler`, recorded as `.message` events so outcomes compare with `feed`'s.
final class EventRecorder {
  var events: [WebSocketEvent] = []

  var handler: WebSocketConnection.MessageHandler {
    { [self] kind, data in events.append(.message(Message(kind: kind, data: Array(data)))) }
  }

  /// Feeds `chunk` the way `WebSocketPeer` does: `receiveSome` with the handler, one
  /// message at a time, taking the events after each call.
  /// With `burst`, the call goes on past each message (`pauseAfterMessage` says no).
  func receive(_ chunk: [UInt8], into connection: inout WebSocketConnection, burst: Bool = false) {
    let handler = handler
    chunk.withUnsafeBytes { raw in
      var index = 0
      // Bounded: every round consumes input or reports something, and both are finite.
      for _ in 0...(2 * raw.count + 2) {
        let rest = UnsafeRawBufferPointer(rebasing: raw[index...])
        let consumed = connection.receiveSome(rest, onMessage: handler) { !burst }
        index += consumed
        let taken = connection.takeEvents()
        events += taken
        if consumed == 0 && taken.isEmpty { break }
      }
    }
  }
}

/// Feeds `chunks` the way `WebSocketPeer` does (see `EventRecorder.receive`).
func feedLending(
  _ chunks: [[UInt8]], role: Role = .client,
  configuration: WebSocketConnection.Configuration = .init(), seed: UInt64 = 42, burst: Bool = false
) -> Outcome {
  var connection = WebSocketConnection(
    role: role, configuration: configuration, random: SplitMix64(seed: seed))
  let recorder = EventRecorder()
  for chunk in chunks { recorder.receive(chunk, into: &connection, burst: burst) }
  return Outcome(
    events: recorder.events, outgoing: connection.takeOutgoing(), state: connection.state,
    failure: connection.failure)
}

/// Feeds `input` whole, byte by byte and (when `everySplit`) at every split point, expects
/// the same outcome from each, and returns it. Each way is also fed through the lending
/// path (`feedLending`), which must give the same outcome as the event path.
@discardableResult
func feedAllWays(
  _ input: [UInt8], role: Role = .client, configuration: WebSocketConnection.Configuration = .init(),
  everySplit: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
) -> Outcome {
  let reference = feed([input], role: role, configuration: configuration)
  for (name, chunks) in choppings(input, everySplit: everySplit) {
    if name != "whole" {
      let outcome = feed(chunks, role: role, configuration: configuration)
      #expect(outcome == reference, "fed \(name)", sourceLocation: sourceLocation)
    }
    let lent = feedLending(chunks, role: role, configuration: configuration)
    #expect(lent == reference, "fed \(name), messages lent", sourceLocation: sourceLocation)
    let burst = feedLending(chunks, role: role, configuration: configuration, burst: true)
    #expect(burst == reference, "fed \(name), messages lent in bursts", sourceLocation: sourceLocation)
  }
  return reference
}

/// Frames decoded by a `FrameDecoder`, and the error that stopped it, if any.
struct Decoded: Equatable {
  var frames: [Frame]
  var error: ProtocolError?
}

/// Drives a `FrameDecoder` over `chunks`, keeping partial payloads between chunks, and checks
/// the decoder's own invariants (ranges inside the chunk, contiguous payload offsets).
func decodeFrames(
  _ chunks: [[UInt8]], role: Role = .client, maxFrameSize: UInt64 = 64 << 20,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Decoded {
  var decoder = FrameDecoder(role: role, maxFrameSize: maxFrameSize)
  var frames: [Frame] = []
  var header: FrameHeader? = nil
  var payload: [UInt8] = []
  for chunk in chunks {
    var failure: ProtocolError? = nil
    chunk.withUnsafeBytes { raw in
      var index = 0
      do throws(ProtocolError) {
        while let output = try decoder.next(raw, index: &index) {
          switch output {
          case .header(let h):
            #expect(header == nil, "header inside a frame", sourceLocation: sourceLocation)
            header = h
            payload = []
          case .payload(let range, let offset):
            #expect(range.lowerBound >= 0 && range.upperBound <= raw.count, sourceLocation: sourceLocation)
            #expect(!range.isEmpty, "empty payload range", sourceLocation: sourceLocation)
            #expect(offset == UInt64(payload.count), "payload offset", sourceLocation: sourceLocation)
            let start = payload.count
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[range]))
            if let key = decoder.currentHeader.maskKey {
              payload.withUnsafeMutableBytes { p in
                _ = Masking.apply(
                  key, to: UnsafeMutableRawBufferPointer(rebasing: p[start...]), phase: Int(offset & 3))
              }
            }
          case .frameEnd:
            if let h = header {
              #expect(UInt64(payload.count) == h.payloadLength, sourceLocation: sourceLocation)
              frames.append(Frame(header: h, payload: payload))
            } else {
              Issue.record("frame end without a header", sourceLocation: sourceLocation)
            }
            header = nil
            payload = []
          case .frame(let h, let range):
            #expect(header == nil, "whole frame inside a frame", sourceLocation: sourceLocation)
            #expect(range.lowerBound >= 0 && range.upperBound <= raw.count, sourceLocation: sourceLocation)
            #expect(UInt64(range.count) == h.payloadLength, sourceLocation: sourceLocation)
            var whole = Array(UnsafeRawBufferPointer(rebasing: raw[range]))
            if let key = h.maskKey {
              whole.withUnsafeMutableBytes { _ = Masking.apply(key, to: $0) }
            }
            frames.append(Frame(header: h, payload: whole))
          }
        }
        #expect(index == raw.count, "input not fully consumed", sourceLocation: sourceLocation)
      } catch {
        failure = error
      }
    }
    if let failure { return Decoded(frames: frames, error: failure) }
  }
  return Decoded(frames: frames, error: nil)
}

/// Decodes `input` whole, byte by byte and (when `everySplit`) at every split point, expects
/// the same result from each, and returns it.
@discardableResult
func decodeAllWays(
  _ input: [UInt8], role: Role = .client, maxFrameSize: UInt64 = 64 << 20, everySplit: Bool = true,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Decoded {
  let reference = decodeFrames(
    [input], role: role, maxFrameSize: maxFrameSize, sourceLocation: sourceLocation)
  for (name, chunks) in choppings(input, everySplit: everySplit).dropFirst() {
    let decoded = decodeFrames(chunks, role: role, maxFrameSize: maxFrameSize, sourceLocation: sourceLocation)
    #expect(decoded == reference, "decoded \(name)", sourceLocation: sourceLocation)
  }
  return reference
}

/// The frames a connection of role `sender` wrote, decoded (and unmasked) as its peer would.
func sentFrames(_ outgoing: [UInt8], by sender: Role = .client) throws -> [Frame] {
  var decoder = FrameDecoder(role: sender == .client ? .server : .client)
  let frames = try decoder.frames(in: outgoing)
  #expect(decoder.isAtFrameBoundary, "outgoing bytes end inside a frame")
  return frames
}

/// The status code of a Close frame's payload, nil when it has none.
func closeCode(_ frame: Frame) -> UInt16? {
  guard frame.header.opcode == .close, frame.payload.count >= 2 else { return nil }
  return UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
}

/// Builds a frame as a server sends it (unmasked) or as a client sends it (masked with `key`).
func frameBytes(
  _ opcode: Opcode, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, key: MaskKey? = nil
) -> [UInt8] {
  var out: [UInt8] = []
  FrameHeader(fin: fin, rsv: rsv, opcode: opcode, maskKey: key, payloadLength: UInt64(payload.count))
    .write(into: &out)
  let keyBytes = key.map { [$0.b0, $0.b1, $0.b2, $0.b3] }
  for (i, b) in payload.enumerated() { out.append(keyBytes.map { b ^ $0[i % 4] } ?? b) }
  return out
}

/// Checks that `outcome` is a connection failed with `error`: the `.failed` event comes last,
/// no message follows it, and exactly one Close frame carrying the error's code went out.
func expectFailed(
  _ outcome: Outcome, with error: ProtocolError, code: UInt16,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  #expect(error.closeCode == code, sourceLocation: sourceLocation)
  #expect(outcome.failure == error, sourceLocation: sourceLocation)
  #expect(outcome.state == .failed, sourceLocation: sourceLocation)
  #expect(outcome.events.last == .failed(error), sourceLocation: sourceLocation)
  let sent = try sentFrames(outcome.outgoing)
  #expect(sent.count == 1, sourceLocation: sourceLocation)
  #expect(sent.first?.header.opcode == .close, sourceLocation: sourceLocation)
  #expect(sent.first.flatMap(closeCode) == code, sourceLocation: sourceLocation)
  if let reason = sent.first?.payload.dropFirst(2) {
    #expect(UTF8Validator.isValid(reason), "close reason is not UTF-8", sourceLocation: sourceLocation)
  }
}

extension WebSocketConnection {
  /// Sends one fragment from an array (the module's fragment API takes a raw buffer).
  mutating func send(_ kind: Message.Kind, _ bytes: [UInt8], fin: Bool = true, continuing: Bool = false)
    throws(UsageError)
  {
    var failure: UsageError? = nil
    bytes.withUnsafeBytes { raw in
      do throws(UsageError) {
        try send(kind, raw, fin: fin, continuing: continuing)
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }
}
