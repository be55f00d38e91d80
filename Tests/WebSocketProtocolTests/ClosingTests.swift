import Testing
import WebSocketProtocol

/// A Close frame from the server with `code` and no reason.
private func serverClose(_ code: UInt16) -> [UInt8] {
  [0x88, 0x02, UInt8(code >> 8), UInt8(code & 0xFF)]
}

@Suite("RFC 6455 §5.5.1 and §7.4 close frames and status codes")
struct CloseCodeTests {
  @Test(
    "invalid close codes are answered with 1002 (§7.4.1, §7.4.2)",
    arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
  func invalidCodes(code: UInt16) throws {
    let outcome = feedAllWays(serverClose(code))
    try expectFailed(outcome, with: .invalidCloseCode(code), code: 1002)
    #expect(!CloseCode.isValidOnWire(code))
  }

  @Test(
    "valid close codes are echoed (§5.5.1)",
    arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
      as [UInt16])
  func validCodesEchoed(code: UInt16) throws {
    let outcome = feedAllWays(serverClose(code))
    #expect(outcome.events == [.close(CloseFrame(code: code))])
    #expect(outcome.state == .closed)
    #expect(outcome.failure == nil)
    let sent = try sentFrames(outcome.outgoing)
    #expect(sent.map(closeCode) == [code])
    #expect(sent.first?.payload.count == 2)
    #expect(CloseCode.isValidOnWire(code))
  }

  @Test("a Close with a 1-byte payload fails with 1002: 88 01 03")
  func oneBytePayload() throws {
    try expectFailed(feedAllWays(hex("88 01 03")), with: .closePayloadTooShort, code: 1002)
  }

  @Test("an empty Close is reported without a code and answered with an empty Close")
  func emptyClose() throws {
    let outcome = feedAllWays(hex("88 00"))
    #expect(outcome.events == [.close(CloseFrame(code: nil))])
    #expect(outcome.state == .closed)
    let sent = try sentFrames(outcome.outgoing)
    #expect(sent.map(\.header.opcode) == [.close])
    #expect(sent.first?.payload == [])
  }

  @Test("a Close reason is delivered; 88 04 03 e8 ff fe (not UTF-8) fails with 1007")
  func reasons() throws {
    let outcome = feedAllWays(hex("88 05 03 e8") + ascii("bye"))
    #expect(outcome.events == [.close(CloseFrame(code: 1000, reason: ascii("bye")))])
    let withUTF8 = feedAllWays(hex("88 04 03 e8 c3 a9"))
    #expect(withUTF8.events == [.close(CloseFrame(code: 1000, reason: ascii("é")))])
    try expectFailed(feedAllWays(hex("88 04 03 e8 ff fe")), with: .invalidUTF8, code: 1007)
    // A reason truncated inside a character is not UTF-8 either.
    try expectFailed(feedAllWays(hex("88 03 03 e8 c3")), with: .invalidUTF8, code: 1007)
  }
}

@Suite("RFC 6455 §7 closing handshake")
struct ClosingHandshakeTests {
  @Test("we close first: closeSent, data still delivered, then the peer's Close → closed (§7.1.2)")
  func weCloseFirst() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 3))
    try connection.close(code: 1000, reason: "done")
    #expect(connection.state == .closeSent)
    #expect(connection.sentClose == CloseFrame(code: 1000, reason: ascii("done")))
    let sent = try sentFrames(connection.takeOutgoing())
    #expect(sent.map(closeCode) == [1000])
    #expect(sent.first?.payload.dropFirst(2).elementsEqual(ascii("done")) == true)

    // Still reading: a message in flight from the server is delivered.
    connection.receive(hex("81 02 68 69"))
    #expect(connection.takeEvents() == [textMessage("hi")])
    #expect(!connection.eofIsClean)

    connection.receive(serverClose(1000))
    #expect(connection.takeEvents() == [.close(CloseFrame(code: 1000))])
    #expect(connection.state == .closed)
    #expect(connection.takeOutgoing().isEmpty, "no second Close")
    let clean = connection.receiveEOF()
    #expect(clean)

    // Calling close again does nothing.
    try connection.close()
    #expect(connection.takeOutgoing().isEmpty)
  }

  @Test("abandoning (keepalive timeout, §7.1.7): Close 1011 once, input ignored, no event")
  func abandon() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 3))
    connection.abandon(code: CloseCode.internalError, reason: "keepalive ping timeout")
    #expect(connection.state == .failed)
    #expect(connection.failure == nil)
    #expect(connection.takeEvents().isEmpty)
    let sent = try sentFrames(connection.takeOutgoing())
    #expect(sent.map(closeCode) == [1011])
    #expect(sent.first?.payload.dropFirst(2).elementsEqual(ascii("keepalive ping timeout")) == true)
    #expect(connection.eofIsClean)
    // Nothing more is read or sent.
    connection.receive(hex("81 02 68 69"))
    #expect(connection.takeEvents().isEmpty)
    connection.abandon(code: CloseCode.internalError, reason: "again")
    #expect(connection.takeOutgoing().isEmpty)

    // After our own Close, abandoning sends no second one.
    var closed = WebSocketConnection(role: .client, random: SplitMix64(seed: 3))
    try closed.close()
    _ = closed.takeOutgoing()
    closed.abandon(code: CloseCode.internalError, reason: "late")
    #expect(closed.takeOutgoing().isEmpty, "a Close was already sent")
  }

  @Test("a Ping that arrives after our Close is reported but not answered")
  func pingAfterOurClose() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 3))
    try connection.close()
    _ = connection.takeOutgoing()
    connection.receive(hex("89 01 78"))
    #expect(connection.takeEvents() == [.ping(ascii("x"))])
    #expect(connection.takeOutgoing().isEmpty)
  }

  @Test("the peer closes first: we echo its code and the state is closed (§5.5.1, §7.1.1)")
  func peerClosesFirst() throws {
    var connection = WebSocketConnection(role: .client, random: SplitMix64(seed: 3))
    connection.receive(serverClose(1001))
    #expect(connection.takeEvents() == [.close(CloseFrame(code: 1001))])
    #expect(connection.state == .closed)
    #expect(connection.receivedClose == CloseFrame(code: 1001))
    #expect(connection.sentClose == CloseFrame(code: 1001))
    #expect(try sentFrames(connection.takeOutgoing()).map(closeCode) == [1001])
    #expect(connection.eofIsClean)
    // Our own close is now a no-op, and no data may follow.
    try connection.close(code: 1000)
    #expect(connection.takeOutgoing().isEmpty)
    #expect(throws: UsageError.connectionClosing) { try connection.send(.text, ascii("late")) }
    let clean = connection.receiveEOF()
    #expect(clean)
  }

  @Test("data and Ping after the peer's Close are ignored, no Pong (§5.5.1, M6)")
  func nothingAfterPeerClose() throws {
    let outcome = feedAllWays(serverClose(1000) + hex("81 02 68 69") + hex("89 00") + hex("83 00"))
    #expect(outcome.events == [.close(CloseFrame(code: 1000))])
    #expect(outcome.failure == nil)
    #expect(try sentFrames(outcome.outgoing).map(\.header.opcode) == [.close])
  }

  @Test("a Close in the middle of a fragmented message is echoed and the partial message dropped")
  func closeMidMessage() throws {
    let outcome = feedAllWays(hex("01 03 48 65 6c") + serverClose(1000) + hex("80 02 6c 6f"))
    #expect(outcome.events == [.close(CloseFrame(code: 1000))])
    #expect(outcome.state == .closed)
    #expect(try sentFrames(outcome.outgoing).map(closeCode) == [1000])
  }

  @Test("receiveEOF: clean after the closing handshake or a failure, abnormal otherwise (§7.1.5)")
  func eof() throws {
    var open = WebSocketConnection(role: .client)
    #expect(!open.eofIsClean)
    let openClean = open.receiveEOF()
    #expect(openClean == false)
    #expect(open.state == .closed)

    var closing = WebSocketConnection(role: .client)
    try closing.close()
    let closingClean = closing.receiveEOF()
    #expect(closingClean == false, "our Close was never answered")

    var closed = WebSocketConnection(role: .client)
    closed.receive(serverClose(1000))
    let closedClean = closed.receiveEOF()
    #expect(closedClean == true)

    var failed = WebSocketConnection(role: .client)
    failed.receive(hex("83 00"))
    let failedClean = failed.receiveEOF()
    #expect(failedClean == true)
    #expect(failed.state == .failed)

    // EOF in the middle of a frame, while open, is abnormal.
    var midFrame = WebSocketConnection(role: .client)
    midFrame.receive(hex("81 05 48 65"))
    #expect(midFrame.takeEvents().isEmpty)
    let midFrameClean = midFrame.receiveEOF()
    #expect(midFrameClean == false)
  }

  @Test(
    "close() refuses codes that may not be sent (§7.4.1, H9)",
    arguments: [1005, 1006, 1015, 999, 5000, 0, 1004, 1016, 2999] as [UInt16])
  func closeRejectsReservedCodes(code: UInt16) {
    var connection = WebSocketConnection(role: .client)
    #expect(throws: UsageError.invalidCloseCode(code)) { try connection.close(code: code) }
    #expect(connection.outgoingCount == 0)
    #expect(connection.state == .open)
  }

  @Test("close() without a code sends an empty Close")
  func closeWithoutCode() throws {
    var connection = WebSocketConnection(role: .client)
    try connection.close(code: nil, reason: "ignored")
    let sent = try sentFrames(connection.takeOutgoing())
    #expect(sent.map(\.header.opcode) == [.close])
    #expect(sent.first?.payload == [])
  }

  @Test("truncatedReason keeps at most 123 bytes, cut on a character boundary (§5.5, H5)")
  func truncatedReason() throws {
    let accents = String(repeating: "é", count: 100)
    let cut = Array(WebSocketConnection.truncatedReason(accents))
    #expect(cut.count == 122)
    #expect(UTF8Validator.isValid(cut))
    #expect(String(decoding: cut, as: UTF8.self) == String(repeating: "é", count: 61))

    #expect(Array(WebSocketConnection.truncatedReason(String(repeating: "a", count: 200))).count == 123)
    #expect(Array(WebSocketConnection.truncatedReason(String(repeating: "a", count: 123))).count == 123)
    #expect(Array(WebSocketConnection.truncatedReason("a" + String(repeating: "😀", count: 40))).count == 121)
    #expect(Array(WebSocketConnection.truncatedReason("")).isEmpty)

    var connection = WebSocketConnection(role: .client)
    try connection.close(code: 1000, reason: accents)
    let sent = try sentFrames(connection.takeOutgoing())
    #expect(sent.first?.payload.count == 124)
    #expect(sent.first.map { UTF8Validator.isValid($0.payload.dropFirst(2)) } == true)
  }

  @Test("control payloads over 125 bytes are refused locally (§5.5, H5)")
  func controlPayloadLimit() throws {
    var connection = WebSocketConnection(role: .client)
    #expect(throws: UsageError.controlPayloadTooLong(126)) {
      try connection.ping([UInt8](repeating: 0, count: 126))
    }
    #expect(throws: UsageError.controlPayloadTooLong(126)) {
      try connection.pong([UInt8](repeating: 0, count: 126))
    }
    #expect(connection.outgoingCount == 0)
    try connection.ping([UInt8](repeating: 0, count: 125))
    #expect(try sentFrames(connection.takeOutgoing()).first?.payload.count == 125)
  }

  @Test("no data frame after our Close (§5.5.1, H7)")
  func noDataAfterClose() throws {
    var connection = WebSocketConnection(role: .client)
    try connection.close()
    #expect(!connection.canSend)
    #expect(throws: UsageError.connectionClosing) { try connection.send(.text, ascii("x")) }
    #expect(throws: UsageError.connectionClosing) { try connection.send(.binary, [1]) }
    #expect(throws: UsageError.connectionClosing) { try connection.ping() }
    #expect(throws: UsageError.connectionClosing) { try connection.pong() }
    #expect(try sentFrames(connection.takeOutgoing()).map(\.header.opcode) == [.close])
  }
}

@Suite("RFC 6455 §5.6 and §5.4 sending data")
struct SendingTests {
  @Test("text that is not UTF-8 is refused and nothing is written (§5.6, H8)")
  func invalidTextRefused() throws {
    var connection = WebSocketConnection(role: .client)
    #expect(throws: UsageError.invalidUTF8) { try connection.send(.text, [0xFF, 0xFE]) }
    #expect(throws: UsageError.invalidUTF8) { try connection.send(.text, hex("ed a0 80")) }
    #expect(throws: UsageError.invalidUTF8) { try connection.send(.text, hex("ce")) }
    #expect(connection.outgoingCount == 0)
    #expect(connection.state == .open)
    try connection.send(.text, ascii("ok"))
    try connection.send(.binary, [0xFF, 0xFE])
    let received = feed([connection.takeOutgoing()], role: .server)
    #expect(received.events == [textMessage("ok"), binaryMessage([0xFF, 0xFE])])
  }

  @Test("a character split across sent fragments is accepted")
  func splitCharacterSent() throws {
    var connection = WebSocketConnection(role: .client)
    try connection.send(.text, hex("ce"), fin: false)
    try connection.send(.text, hex("ba"), fin: true, continuing: true)
    let received = feed([connection.takeOutgoing()], role: .server)
    #expect(received.events == [textMessage("κ")])
  }

  @Test("fragments must be sent in order (§5.4)")
  func fragmentOrder() throws {
    var connection = WebSocketConnection(role: .client)
    #expect(throws: UsageError.fragmentationOrder) {
      try connection.send(.text, ascii("x"), continuing: true)
    }
    try connection.send(.binary, [1], fin: false)
    #expect(throws: UsageError.fragmentationOrder) { try connection.send(.binary, [2]) }
    #expect(throws: UsageError.fragmentationOrder) {
      try connection.send(.text, ascii("x"), continuing: true)
    }
    try connection.ping()
    try connection.send(.binary, [3], fin: true, continuing: true)
    let received = feed([connection.takeOutgoing()], role: .server)
    #expect(received.failure == nil)
    #expect(received.events == [.ping([]), binaryMessage([1, 3])])
  }

  @Test("a refused text fragment leaves the open message intact: the wire stays valid (§5.4)")
  func refusedFragmentKeepsMessageOpen() throws {
    var connection = WebSocketConnection(role: .client)
    try connection.send(.text, ascii("ab"), fin: false)
    #expect(throws: UsageError.invalidUTF8) {
      try connection.send(.text, [0xFF], fin: true, continuing: true)
    }
    #expect(throws: UsageError.invalidUTF8) {
      try connection.send(.text, hex("ce"), fin: true, continuing: true)
    }
    // "ab" is already on the wire with FIN clear: starting a new message now would put a
    // text frame inside a fragmented message, which the peer must fail with 1002.
    #expect(throws: UsageError.fragmentationOrder) { try connection.send(.text, ascii("x")) }
    try connection.send(.text, ascii("c"), fin: true, continuing: true)
    let received = feed([connection.takeOutgoing()], role: .server)
    #expect(received.failure == nil)
    #expect(received.events == [textMessage("abc")])
  }

  @Test("traceFrames reports sent and received frames")
  func traces() throws {
    var connection = WebSocketConnection(
      role: .client, configuration: .init(traceFrames: true), random: SplitMix64(seed: 1))
    try connection.send(.text, ascii("hi"))
    connection.receive(hex("81 02 6f 6b"))
    let events = connection.takeEvents()
    guard events.count == 3, case .frame(let sent) = events[0], case .frame(let received) = events[1] else {
      Issue.record("unexpected events \(events)")
      return
    }
    #expect(sent.direction == .sent && sent.header.opcode == .text && sent.preview == ascii("hi"))
    #expect(received.direction == .received && received.preview == ascii("ok"))
    #expect(events[2] == textMessage("ok"))
  }
}
