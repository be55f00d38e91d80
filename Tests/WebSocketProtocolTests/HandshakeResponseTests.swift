import Testing
import WebSocketProtocol

/// A response head: the status line and header lines, CRLF-terminated, then `body`.
private func response(_ status: String, _ headers: [String], body: [UInt8] = []) -> [UInt8] {
  ascii(([status] + headers).map { $0 + "\r\n" }.joined() + "\r\n") + body
}

/// A 101 response with `headers`, then `body`.
private func response(_ headers: [String], body: [UInt8] = []) -> [UInt8] {
  response("HTTP/1.1 101 Switching Protocols", headers, body: body)
}

/// The three headers a valid 101 needs for `handshake`.
private func validHeaders(_ handshake: ClientHandshake) -> [String] {
  [
    "Upgrade: websocket", "Connection: Upgrade",
    "Sec-WebSocket-Accept: \(ClientHandshake.acceptValue(forKey: handshake.key))",
  ]
}

/// What an accepted response gave: the head, the choices, and the bytes that followed it.
private struct Accepted: Equatable {
  var head: HTTPHeadParser.Head
  var subprotocol: String?
  var extensions: [ExtensionOffer]
  var rest: [UInt8]
}

/// Feeds one chunk to `handshake`.
private func receive(_ handshake: inout ClientHandshake, _ bytes: [UInt8]) throws(ClientHandshake
  .ResponseError)
  -> (ClientHandshake.Response, Int)?
{
  var result: Result<(ClientHandshake.Response, Int)?, ClientHandshake.ResponseError> = .success(nil)
  bytes.withUnsafeBytes { raw in
    do throws(ClientHandshake.ResponseError) {
      result = .success(try handshake.receive(raw))
    } catch {
      result = .failure(error)
    }
  }
  return try result.get()
}

/// The header name of a header line, lowercased.
private func headerName(_ line: String) -> String {
  String(line.prefix { $0 != ":" }).lowercased()
}

/// The result of feeding a response: accepted, refused, or still incomplete (nil).
private enum HandshakeResult: Equatable {
  case accepted(Accepted)
  case refused(ClientHandshake.ResponseError)
  case incomplete
}

/// Feeds `chunks` to `handshake` until it accepts or refuses; the bytes after the head
/// (the rest of that chunk and every later chunk) are collected into `rest`.
private func run(_ handshake: ClientHandshake, _ chunks: [[UInt8]]) -> HandshakeResult {
  var handshake = handshake
  for (n, chunk) in chunks.enumerated() {
    do throws(ClientHandshake.ResponseError) {
      if let (response, index) = try receive(&handshake, chunk) {
        #expect(index >= 0 && index <= chunk.count)
        let rest = Array(chunk[index...]) + chunks[(n + 1)...].joined()
        return .accepted(
          Accepted(
            head: response.head, subprotocol: response.subprotocol, extensions: response.extensions,
            rest: rest))
      }
    } catch {
      return .refused(error)
    }
  }
  return .incomplete
}

/// Runs `bytes` whole, byte by byte and (when `everySplit`) at every split, expecting one result.
private func runAllWays(
  _ handshake: ClientHandshake, _ bytes: [UInt8], everySplit: Bool = true,
  sourceLocation: SourceLocation = #_sourceLocation
) -> HandshakeResult {
  let reference = run(handshake, [bytes])
  for (name, chunks) in choppings(bytes, everySplit: everySplit).dropFirst() {
    #expect(run(handshake, chunks) == reference, "fed \(name)", sourceLocation: sourceLocation)
  }
  return reference
}

private func isAccepted(_ result: HandshakeResult) -> Bool {
  if case .accepted = result { return true }
  return false
}

@Suite("RFC 6455 §4.1 and §4.2.2 opening handshake: the response")
struct HandshakeResponseTests {
  @Test("a valid 101 is accepted, whole, byte by byte and at every split")
  func valid() throws {
    let handshake = try makeHandshake()
    let bytes = response(validHeaders(handshake))
    guard case .accepted(let accepted) = runAllWays(handshake, bytes) else {
      Issue.record("refused")
      return
    }
    #expect(accepted.head.startLine == "HTTP/1.1 101 Switching Protocols")
    #expect(accepted.rest.isEmpty)
    #expect(accepted.subprotocol == nil && accepted.extensions.isEmpty)
  }

  @Test(
    "tolerated variants are accepted (F2, F3, F4)",
    arguments: [
      ["Upgrade: WebSocket"], ["Upgrade: WEBSOCKET"], ["Connection: keep-alive, Upgrade"],
      ["Connection: upgrade"],
      ["Connection: keep-alive", "Connection: Upgrade"], ["Sec-WebSocket-Accept:    ACCEPT   "],
      ["Sec-WebSocket-Accept:\tACCEPT\t"], ["X-Extra: 1", "Server: test"],
    ])
  func tolerated(replacements: [String]) throws {
    let handshake = try makeHandshake()
    let accept = ClientHandshake.acceptValue(forKey: handshake.key)
    let fixed = replacements.map { $0.replacing("ACCEPT", with: accept) }
    // Replace the valid header of the same name (all of them if several are given).
    let names = Set(fixed.map(headerName))
    let headers = validHeaders(handshake).filter { !names.contains(headerName($0)) } + fixed
    #expect(isAccepted(runAllWays(handshake, response(headers), everySplit: false)), "\(headers)")
  }

  @Test("a missing, wrong or duplicated Sec-WebSocket-Accept is refused (F4)")
  func badAccept() throws {
    let handshake = try makeHandshake()
    let accept = ClientHandshake.acceptValue(forKey: handshake.key)
    let base = ["Upgrade: websocket", "Connection: Upgrade"]
    #expect(runAllWays(handshake, response(base)) == .refused(.missingAccept))
    #expect(
      runAllWays(handshake, response(base + ["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]))
        == .refused(.wrongAccept("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")))
    #expect(
      runAllWays(
        handshake, response(base + ["Sec-WebSocket-Accept: \(accept)", "Sec-WebSocket-Accept: \(accept)"]))
        == .refused(.multipleAccept))
    #expect(runAllWays(handshake, response(base + ["Sec-WebSocket-Accept: "])) == .refused(.wrongAccept("")))
    #expect(
      runAllWays(handshake, response(base + ["Sec-WebSocket-Accept: \(accept.lowercased())"]))
        == .refused(.wrongAccept(accept.lowercased())))
  }

  @Test("a missing or wrong Upgrade, or Connection without Upgrade, is refused (F2, F3)")
  func badUpgradeOrConnection() throws {
    let handshake = try makeHandshake()
    let accept = "Sec-WebSocket-Accept: \(ClientHandshake.acceptValue(forKey: handshake.key))"
    #expect(
      runAllWays(handshake, response(["Connection: Upgrade", accept])) == .refused(.missingUpgrade(nil)))
    #expect(
      runAllWays(handshake, response(["Upgrade: h2c", "Connection: Upgrade", accept]))
        == .refused(.missingUpgrade("h2c")))
    #expect(
      runAllWays(handshake, response(["Upgrade: websocket", "Connection: close", accept]))
        == .refused(.missingConnectionUpgrade("close")))
    #expect(
      runAllWays(handshake, response(["Upgrade: websocket", accept]))
        == .refused(.missingConnectionUpgrade(nil)))
  }

  @Test("a status other than 101 is refused with its code (F1)", arguments: [404, 200, 426, 500, 301, 401])
  func unexpectedStatus(code: Int) throws {
    let handshake = try makeHandshake()
    let bytes = response("HTTP/1.1 \(code) Nope", ["Content-Length: 0"])
    guard case .refused(.unexpectedStatus(let got, let reason, let head)) = runAllWays(handshake, bytes)
    else {
      Issue.record("not refused with unexpectedStatus")
      return
    }
    #expect(got == code)
    #expect(reason == "Nope")
    #expect(head.values("content-length") == ["0"])
  }

  @Test("HTTP/1.0 101 and junk such as 220 smtp.invalid are invalid status lines (F7)")
  func invalidStatusLines() throws {
    let handshake = try makeHandshake()
    let http10 = response("HTTP/1.0 101 Switching Protocols", validHeaders(handshake))
    guard case .refused(.invalidStatusLine) = run(handshake, [http10]) else {
      Issue.record("HTTP/1.0 accepted")
      return
    }
    for bad in [
      "220 smtp.invalid ESMTP", "HTTP/1.1 1O1 Switching", "HTTP/1.1 101Switching", "SSH-2.0-OpenSSH",
    ] {
      let result = run(handshake, [response(bad, [])])
      guard case .refused(.invalidStatusLine) = result else {
        Issue.record("\(bad): \(result)")
        continue
      }
    }
  }

  @Test("an HTTP/1.0 error response (openssl s_server -www: HTTP/1.0 200 ok) is a rejection with its status")
  func http10Rejection() throws {
    let handshake = try makeHandshake()
    let result = run(handshake, [response("HTTP/1.0 200 ok", ["Content-type: text/html"])])
    guard case .refused(.unexpectedStatus(let code, let reason, _)) = result else {
      Issue.record("\(result)")
      return
    }
    #expect(code == 200)
    #expect(reason == "ok")
    let bytewise = run(handshake, ascii("HTTP/1.0 403 Forbidden\r\n\r\n").map { [$0] })
    guard case .refused(.unexpectedStatus(403, "Forbidden", _)) = bytewise else {
      Issue.record("byte by byte: \(bytewise)")
      return
    }
    // HTTP/1.0 has no 1xx: "HTTP/1.0 100" is as invalid as "HTTP/1.0 101".
    guard case .refused(.invalidStatusLine) = run(handshake, [response("HTTP/1.0 100 Continue", [])]) else {
      Issue.record("HTTP/1.0 100 taken as interim")
      return
    }
  }

  @Test("junk is refused as soon as its first bytes show it, without waiting for a line end (F7)")
  func junkRejectedEarly() throws {
    let handshake = try makeHandshake()
    // One byte of "220 smtp.invalid" is enough.
    #expect(run(handshake, [ascii("2")]) == .refused(.invalidStatusLine("2")))
    // HTTP/1.2 is refused at its eighth byte.
    let http12 = ascii("HTTP/1.2 101 Switching Protocols\r\n")
    for n in 1...7 {
      #expect(run(handshake, http12.prefix(n).map { [$0] }) == .incomplete, "\(n) bytes")
    }
    #expect(run(handshake, http12.prefix(8).map { [$0] }) == .refused(.invalidStatusLine("HTTP/1.2")))
    // HTTP/1.0 is waited for: its status may be a rejection worth reporting.
    #expect(run(handshake, [ascii("HTTP/1.0 10")]) == .incomplete)
    // A start line that looks right so far is still waited for.
    #expect(run(handshake, [ascii("HTTP/1.1 10")]) == .incomplete)
    // Junk that never sends a newline fails at once instead of waiting for the line limit.
    let junk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
    #expect(run(handshake, [junk]) == .refused(.invalidStatusLine("xxxxxxxxxxxxxxxx")))
    #expect(run(handshake, junk.map { [$0] }) == .refused(.invalidStatusLine("x")))
    // A huge buffer of junk is refused within the same call, whatever the error.
    guard case .refused = run(handshake, [[UInt8](repeating: UInt8(ascii: "x"), count: 100_000)]) else {
      Issue.record("endless junk not refused")
      return
    }
  }

  @Test("EOF before or inside the response names what was being read (F7)")
  func eof() throws {
    var handshake = try makeHandshake()
    #expect(handshake.receiveEOF() == .connectionClosed(whileReading: "HTTP status line"))
    let partial = ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
    #expect(try receive(&handshake, partial) == nil)
    #expect(handshake.receiveEOF() == .connectionClosed(whileReading: "HTTP headers"))
  }

  @Test("100 Continue before the 101 is skipped (F10)")
  func interimResponse() throws {
    let handshake = try makeHandshake()
    let bytes = ascii("HTTP/1.1 100 Continue\r\n\r\n") + response(validHeaders(handshake))
    guard case .accepted(let accepted) = runAllWays(handshake, bytes) else {
      Issue.record("refused")
      return
    }
    #expect(accepted.head.startLine == "HTTP/1.1 101 Switching Protocols")
    let many = Array(repeating: ascii("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), count: 20).flatMap {
      $0
    }
    guard case .refused(.invalidStatusLine) = run(handshake, [many + response(validHeaders(handshake))])
    else {
      Issue.record("an endless stream of 1xx responses was not refused")
      return
    }
  }

  @Test("an accepted extension is returned; an unrequested one is refused (F5, §9.1)")
  func extensions() throws {
    let offered = try makeHandshake(extensions: ["permessage-deflate; client_max_window_bits"])
    let accepted = run(
      offered,
      [
        response(
          validHeaders(offered) + ["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"]
        )
      ])
    guard case .accepted(let a) = accepted else {
      Issue.record("\(accepted)")
      return
    }
    #expect(
      a.extensions == [
        ExtensionOffer(
          name: "permessage-deflate", parameters: [.init(name: "server_no_context_takeover", value: nil)])
      ])

    let plain = try makeHandshake()
    #expect(
      run(plain, [response(validHeaders(plain) + ["Sec-WebSocket-Extensions: permessage-deflate"])])
        == .refused(.unexpectedExtension("permessage-deflate")))
    #expect(
      run(offered, [response(validHeaders(offered) + ["Sec-WebSocket-Extensions: x-foo"])])
        == .refused(.unexpectedExtension("x-foo")))
    let malformed = run(
      offered, [response(validHeaders(offered) + ["Sec-WebSocket-Extensions: permessage-deflate;;"])])
    guard case .refused(.malformedExtensions) = malformed else {
      Issue.record("permessage-deflate;; gave \(malformed)")
      return
    }
  }

  // Speed is not asserted here (no wall-clock checks in unit tests); the parser is a single
  // forward scan with no backtracking, and these inputs show it refuses the ReDoS shape.
  @Test("a pathological a; b=\"\\c\\c\\c… extension header is refused (ReDoS shape, F5)")
  func pathologicalExtension() throws {
    let offered = try makeHandshake(extensions: ["a"])
    // 64 KiB: beyond the 8,192-byte line limit, so the head parser refuses it.
    let big = "Sec-WebSocket-Extensions: a; b=\"" + String(repeating: "\\c", count: 32 * 1024)
    var result = run(offered, [response(validHeaders(offered) + [big])])
    #expect(result == .refused(.head(.lineTooLong(limit: 8192))))
    // Just under the line limit it reaches the extension parser, which refuses it.
    let small = "Sec-WebSocket-Extensions: a; b=\"" + String(repeating: "\\c", count: 4000)
    result = run(offered, [response(validHeaders(offered) + [small])])
    guard case .refused(.malformedExtensions) = result else {
      Issue.record("\(result)")
      return
    }
    // The parser itself on 64 KiB and 1 MiB inputs.
    for count in [32 * 1024, 512 * 1024] {
      let value = "a; b=\"" + String(repeating: "\\c", count: count)
      #expect(throws: ExtensionOffer.ParseError.self) { try ExtensionOffer.parseList(value) }
    }
  }

  @Test(
    "malformed extension headers are refused",
    arguments: [
      "permessage-deflate;;", ";", "", "a,", "a; =1", "a; b=", "a; b=\"\"", "a; b=\"c d\"", "a b", "a; b=\"c",
    ]
  )
  func malformedExtensionGrammar(value: String) {
    #expect(throws: ExtensionOffer.ParseError.self) { try ExtensionOffer.parseList(value) }
  }

  @Test("well-formed extension headers parse, quotes removed")
  func extensionGrammar() throws {
    #expect(
      try ExtensionOffer.parseList("permessage-deflate; client_max_window_bits=\"10\" , x-foo;a;b=c")
        == [
          ExtensionOffer(
            name: "permessage-deflate", parameters: [.init(name: "client_max_window_bits", value: "10")]),
          ExtensionOffer(
            name: "x-foo", parameters: [.init(name: "a", value: nil), .init(name: "b", value: "c")]),
        ])
  }

  @Test(
    "subprotocols: the offered one is accepted; unrequested, several, or any when none was offered is refused (F6)"
  )
  func subprotocols() throws {
    let offered = try makeHandshake(subprotocols: ["chat", "superchat"])
    guard
      case .accepted(let a) = run(
        offered, [response(validHeaders(offered) + ["Sec-WebSocket-Protocol: chat"])])
    else {
      Issue.record("offered subprotocol refused")
      return
    }
    #expect(a.subprotocol == "chat")
    #expect(
      run(offered, [response(validHeaders(offered) + ["Sec-WebSocket-Protocol: other"])])
        == .refused(.unexpectedSubprotocol("other")))
    #expect(
      run(offered, [response(validHeaders(offered) + ["Sec-WebSocket-Protocol: chat, superchat"])])
        == .refused(.multipleSubprotocols))
    #expect(
      run(
        offered,
        [
          response(
            validHeaders(offered) + ["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: superchat"])
        ])
        == .refused(.multipleSubprotocols))
    // Matching is exact (tokens are case-sensitive).
    #expect(
      run(offered, [response(validHeaders(offered) + ["Sec-WebSocket-Protocol: Chat"])])
        == .refused(.unexpectedSubprotocol("Chat")))
    let none = try makeHandshake()
    #expect(
      run(none, [response(validHeaders(none) + ["Sec-WebSocket-Protocol: chat"])])
        == .refused(.unexpectedSubprotocol("chat")))
  }

  @Test("size limits: a line over 8,192 bytes, over 128 headers, or a head over 64 KiB is refused (F8)")
  func limits() throws {
    let handshake = try makeHandshake()
    let longLine = "X-Long: " + String(repeating: "a", count: 8200)
    #expect(
      run(handshake, [response(validHeaders(handshake) + [longLine])])
        == .refused(.head(.lineTooLong(limit: 8192))))

    let tooMany = (0..<126).map { "X-H\($0): v" }
    #expect(
      run(handshake, [response(validHeaders(handshake) + tooMany)])
        == .refused(.head(.tooManyHeaders(limit: 128))))
    // Exactly 128 header fields are fine.
    #expect(isAccepted(run(handshake, [response(validHeaders(handshake) + tooMany.dropLast())])))

    let big = (0..<20).map { "X-Big\($0): " + String(repeating: "b", count: 4000) }
    #expect(
      run(handshake, [response(validHeaders(handshake) + big)])
        == .refused(.head(.headTooLarge(limit: 65536))))
  }

  @Test("endless input is refused at the limit, not buffered: a 1 MiB line and endless headers (F8)")
  func endlessInput() throws {
    let handshake = try makeHandshake()
    let status = ascii("HTTP/1.1 101 Switching Protocols\r\n")
    // Feed 1 KiB chunks of an endless line; it must fail within the first ~9 KiB.
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
    var fed = 0
    var h = handshake
    var refusal: ClientHandshake.ResponseError? = nil
    do throws(ClientHandshake.ResponseError) {
      _ = try receive(&h, status)
      while fed < 1 << 20 {
        fed += chunk.count
        _ = try receive(&h, chunk)
      }
    } catch {
      refusal = error
    }
    #expect(refusal == .head(.lineTooLong(limit: 8192)))
    #expect(fed <= 9 * 1024)

    // Endless small headers fail at the header count limit.
    let line = ascii("X-A: b\r\n")
    var headers = handshake
    var count = 0
    refusal = nil
    do throws(ClientHandshake.ResponseError) {
      _ = try receive(&headers, status)
      while count < 100_000 {
        count += 1
        _ = try receive(&headers, line)
      }
    } catch {
      refusal = error
    }
    #expect(refusal == .head(.tooManyHeaders(limit: 128)))
    #expect(count == 129)
  }

  @Test("frames after the head in the same buffer are returned via the index: \"Hello\" then Close 1000 (F9)")
  func bytesAfterHead() throws {
    let handshake = try makeHandshake()
    let frames = hex("81 05") + ascii("Hello") + hex("88 02 03 e8")
    let bytes = response(validHeaders(handshake), body: frames)
    let result = runAllWays(handshake, bytes)
    guard case .accepted(let accepted) = result else {
      Issue.record("\(result)")
      return
    }
    #expect(accepted.rest == frames)
    let outcome = feed([accepted.rest])
    #expect(outcome.events == [textMessage("Hello"), .close(CloseFrame(code: 1000))])
    #expect(outcome.state == .closed)
    #expect(try sentFrames(outcome.outgoing).map(closeCode) == [1000])
  }

  @Test("the index is correct when the head completes mid-chunk after an interim response")
  func indexAfterInterim() throws {
    let handshake = try makeHandshake()
    let bytes =
      ascii("HTTP/1.1 100 Continue\r\n\r\n") + response(validHeaders(handshake), body: hex("81 02 68 69"))
    guard case .accepted(let accepted) = runAllWays(handshake, bytes) else {
      Issue.record("refused")
      return
    }
    #expect(accepted.rest == hex("81 02 68 69"))
  }

  @Test("bare LF line endings are accepted; folded or malformed header lines are refused")
  func lineEndings() throws {
    let handshake = try makeHandshake()
    let lf = ascii(
      (["HTTP/1.1 101 Switching Protocols"] + validHeaders(handshake)).map { $0 + "\n" }.joined() + "\n")
    #expect(isAccepted(runAllWays(handshake, lf, everySplit: false)))
    #expect(
      run(handshake, [response(validHeaders(handshake) + [" folded"])])
        == .refused(.head(.obsoleteLineFolding)))
    guard
      case .refused(.head(.invalidHeaderLine)) = run(
        handshake, [response(validHeaders(handshake) + ["No colon"])])
    else {
      Issue.record("header without a colon accepted")
      return
    }
    guard
      case .refused(.head(.invalidHeaderLine)) = run(
        handshake, [response(validHeaders(handshake) + ["X-A: b\u{0}c"])])
    else {
      Issue.record("NUL in a header value accepted")
      return
    }
  }
}
