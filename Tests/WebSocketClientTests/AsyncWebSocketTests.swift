import Testing
import WebSocketProtocol

@testable import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The async API (`WebSocket`) against a real server, `wsc -l`. Serialized: each test runs
/// a server process, and the machine is shared.
@Suite("WebSocket: the async API against wsc -l", .serialized, .timeLimit(.minutes(1)))
struct AsyncWebSocketTests {
  @Test("a text message comes back as sent, and close completes the handshake (§7.1.2)")
  func textEcho() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let result = try await withTimeout(10) {
      let socket = try await WebSocket.connect(url)
      try await socket.send(text: "hello, wörld")
      var iterator = socket.messages.makeAsyncIterator()
      let echo = try await iterator.next()
      #expect(echo == Message(kind: .text, data: Array("hello, wörld".utf8)))
      let result = await socket.close()
      // After our close the sequence ends without an error.
      #expect(try await iterator.next() == nil)
      return result
    }
    #expect(result.wasClean)
    #expect(result.sent?.code == 1000 && result.initiatedLocally)
    #expect(server.waitForLog("client 1 disconnected (code 1000)"))
  }

  @Test("binary messages come back byte for byte, small and large, in order")
  func binaryEcho() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    // Every byte value, then 300 KiB of a pattern with no period a short buffer would hide.
    let payloads: [[UInt8]] = [
      Array(0...255), [], (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) },
    ]
    let echoes = try await withTimeout(10) {
      let socket = try await WebSocket.connect(url)
      for payload in payloads { try await socket.send(binary: payload) }
      var echoes: [Message] = []
      for try await message in socket.messages {
        echoes.append(message)
        if echoes.count == payloads.count { break }
      }
      await socket.close()
      return echoes
    }
    #expect(echoes.map(\.kind) == [.binary, .binary, .binary])
    #expect(echoes.map(\.data) == payloads)
  }

  @Test("the server's Close with 1000 ends the messages without an error (§7.4.1)")
  func serverClosesNormally() async throws {
    let server = try WscServer(["--jsonl-input", "-x", "first"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    // The greeting (-x) first: a Close command drops what the server has not sent yet.
    let greeting = try await withTimeout(10) { () -> String? in
      for try await message in socket.messages { return message.text }
      return nil
    }
    server.write(#"{"close": {"code": 1000, "reason": "done"}}"# + "\n")
    // A second iteration continues where the first stopped, and ends at the Close.
    let received = try await withTimeout(10) {
      var received: [String?] = [greeting]
      for try await message in socket.messages { received.append(message.text) }
      return received
    }
    let result = socket.closeResult
    #expect(received == ["first"])
    #expect(result?.received == CloseFrame(code: 1000, reason: Array("done".utf8)))
    #expect(result?.initiatedLocally == false)
  }

  @Test("the server's Close with another code makes the messages throw it")
  func serverClosesWithAnError() async throws {
    let server = try WscServer(["--jsonl-input"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    try #require(server.waitForLog("client 1 connected"))
    server.write(#"{"close": {"code": 4000, "reason": "bye"}}"# + "\n")
    let outcome = try await withTimeout(10) { () -> Result<Int, any Error> in
      var count = 0
      do {
        for try await _ in socket.messages { count += 1 }
        return .success(count)
      } catch {
        return .failure(error)
      }
    }
    guard case .failure(let error) = outcome else {
      Issue.record("the messages ended without an error: \(outcome)")
      return
    }
    #expect(error as? WebSocketError == .closedByServer(CloseFrame(code: 4000, reason: Array("bye".utf8))))
  }

  @Test("a server that goes away with 1001 (SIGTERM) ends the messages normally")
  func serverGoesAway() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    #expect(server.waitForLog("client 1 connected"))
    server.stop(SIGTERM)
    let count = try await withTimeout(10) {
      var count = 0
      for try await _ in socket.messages { count += 1 }
      return count
    }
    #expect(count == 0)
    #expect(socket.closeResult?.received?.code == 1001)
  }

  @Test("a connection lost without a Close makes the messages throw connectionLost (1006)")
  func connectionLost() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    #expect(server.waitForLog("client 1 connected"))
    server.stop(SIGKILL)
    let outcome = try await withTimeout(10) { () -> (any Error)? in
      do {
        for try await _ in socket.messages {}
        return nil
      } catch {
        return error
      }
    }
    guard case .connectionLost = outcome as? WebSocketClientError else {
      Issue.record("expected connectionLost, got \(String(describing: outcome))")
      return
    }
    #expect(socket.closeResult?.code == 1006)
    await #expect(throws: WebSocketError.notOpen) { try await socket.send(text: "late") }
  }

  @Test("cancelling the task that iterates closes the connection with 1001 (§7.4.1)")
  func cancellingTheConsumer() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    let consumer = Task {
      var count = 0
      for try await _ in socket.messages { count += 1 }
      return count
    }
    // The echo of one message reaches the consumer, which then waits in `next()`.
    try await socket.send(text: "one")
    try await Task.sleep(for: .milliseconds(200))
    consumer.cancel()
    let outcome = try await withTimeout(10) { await consumer.result }
    #expect(throws: CancellationError.self) { try outcome.get() }
    #expect(server.waitForLog("client 1 disconnected (code 1001)"))
    let result = try await withTimeout(10) { await socket.close() }
    #expect(result.sent?.code == 1001 && result.received?.code == 1001)
  }

  @Test("cancelling connect aborts the attempt and throws CancellationError")
  func cancellingConnect() async throws {
    // A listener that never accepts: TCP connects (the backlog), the handshake never answers.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { _ = close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    try #require(bound)
    let url = "ws://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/"
    let start = MonotonicClock.now()
    let attempt = Task { try await WebSocket.connect(url, options: .init(connectTimeout: 30)) }
    try await Task.sleep(for: .milliseconds(300))
    attempt.cancel()
    let outcome = try await withTimeout(5) { await attempt.result }
    #expect(throws: CancellationError.self) { try outcome.get() }
    #expect(MonotonicClock.now() - start < 5)
  }

  @Test("a refused connection throws connectFailed")
  func refused() async throws {
    // A port that was free a moment ago: nothing listens there.
    let server = try WscServer(["--echo"])
    let url = server.url
    server.stop()
    await #expect {
      try await withTimeout(10) { _ = try await WebSocket.connect(url) }
    } throws: { error in
      if case .connectFailed = error as? WebSocketClientError { return true }
      return false
    }
  }

  @Test("a slow consumer holds at most 16 messages; all arrive, in order")
  func slowConsumer() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let total = 20_000
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    let sender = Task {
      for i in 0..<total { try await socket.send(text: String(i)) }
    }
    let (count, outOfOrder, largestSeen) = try await withTimeout(50) {
      // The consumer starts late: by then the buffer is full and the I/O thread waits.
      try await Task.sleep(for: .milliseconds(500))
      let waiting = socket.bufferedCount
      #expect(waiting == 16, "the buffer should be full and holding: \(waiting)")
      var count = 0
      var outOfOrder = 0
      var largestSeen = waiting
      for try await message in socket.messages {
        if message.text != String(count) { outOfOrder += 1 }
        count += 1
        largestSeen = max(largestSeen, socket.bufferedCount)
        if count % 2_000 == 0 { try await Task.sleep(for: .milliseconds(20)) }
        if count == total { break }
      }
      return (count, outOfOrder, largestSeen)
    }
    try await sender.value
    await socket.close()
    #expect(count == total)
    #expect(outOfOrder == 0)
    #expect(largestSeen <= 16)
    #expect(socket.peakBufferedCount == 16)
  }

  @Test("close returns while the buffer is full and the I/O thread waits for room")
  func closeWithAFullBuffer() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    let socket = try await withTimeout(10) { try await WebSocket.connect(url) }
    let result = try await withTimeout(10) {
      for i in 0..<200 { try await socket.send(text: String(i)) }
      // Nobody reads: the echoes fill the buffer and the I/O thread blocks in its hook.
      let deadline = MonotonicClock.now() + 5
      while socket.bufferedCount < 16, MonotonicClock.now() < deadline {
        try await Task.sleep(for: .milliseconds(10))
      }
      return await socket.close()
    }
    #expect(socket.peakBufferedCount == 16)
    #expect(result.wasClean)
    // What was buffered before the close is still there to read, then the end.
    let count = try await withTimeout(10) {
      var count = 0
      for try await _ in socket.messages { count += 1 }
      return count
    }
    #expect(count >= 16 && count <= 200)
  }

  @Test("nothing can be sent after close, and a text message must be UTF-8")
  func refusals() async throws {
    let server = try WscServer(["--echo"])
    let url = server.url
    try await withTimeout(10) {
      let socket = try await WebSocket.connect(url)
      await #expect(throws: WebSocketError.invalidUTF8) {
        try await socket.send(Message(kind: .text, data: [0xC3, 0x28]))
      }
      await socket.close()
      await #expect(throws: WebSocketError.notOpen) { try await socket.send(text: "late") }
    }
  }
}
