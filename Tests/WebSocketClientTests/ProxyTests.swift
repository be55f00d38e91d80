import Testing
import WebSocketProtocol

@testable import WebSocketClient

private func uri(_ text: String) throws -> WebSocketURI { try WebSocketURI(parsing: text) }

extension HTTPConnectHandshake {
  fileprivate mutating func receive(_ bytes: [UInt8]) throws(ProxyError) -> Reply? {
    var outcome: Result<Reply?, ProxyError> = .success(nil)
    bytes.withUnsafeBytes { raw in
      do throws(ProxyError) { outcome = .success(try receive(raw)) } catch { outcome = .failure(error) }
    }
    return try outcome.get()
  }
}

extension Socks5Handshake {
  fileprivate mutating func receive(_ bytes: [UInt8]) throws(ProxyError) -> Step? {
    var outcome: Result<Step?, ProxyError> = .success(nil)
    bytes.withUnsafeBytes { raw in
      do throws(ProxyError) { outcome = .success(try receive(raw)) } catch { outcome = .failure(error) }
    }
    return try outcome.get()
  }
}

@Suite("Proxy URLs (--proxy and the environment)")
struct ProxyURLTests {
  @Test("schemes, default port 1080, percent-decoded credentials never shown")
  func parsing() throws {
    let p = try ProxyURL(parsing: "http://u:p%40ss@Proxy.Example:3128/")
    #expect(p.kind == .http && p.host == "proxy.example" && p.port == 3128)
    #expect(p.user == "u" && p.password == "p@ss")
    #expect(p.description == "http://proxy.example:3128")
    #expect(try ProxyURL(parsing: "proxy:8080").kind == .http)
    #expect(try ProxyURL(parsing: "socks5://127.0.0.1").port == 1080)
    #expect(try ProxyURL(parsing: "SOCKS5H://[::1]:1081").description == "socks5h://[::1]:1081")
    #expect(try ProxyURL(parsing: "https://p").port == 443)
    for bad in ["socks4://p:1", "ftp://p", "http://p:1/x", "http://p:0", "http://:8080"] {
      #expect(throws: ProxyURL.ParseError.self, "\(bad)") { try ProxyURL(parsing: bad) }
    }
  }
}

@Suite("no_proxy matching as curl does it (CHECKLIST D8)")
struct NoProxyTests {
  @Test("names match themselves and subdomains by whole labels, case-insensitively")
  func names() {
    let n = NoProxy("example.com, .internal.test  localhost")
    #expect(n.matches("example.com") && n.matches("www.EXAMPLE.com") && n.matches("example.com."))
    #expect(!n.matches("ample.com") && !n.matches("anexample.com") && !n.matches("example.com.evil"))
    #expect(n.matches("a.b.internal.test") && n.matches("internal.test"))
    #expect(n.matches("localhost") && !n.matches("127.0.0.1"))
  }

  @Test("*, IP literals, CIDR ranges, ports ignored")
  func addresses() {
    #expect(NoProxy("*").matches("anything.example"))
    #expect(!NoProxy("*.example.com").matches("other.test"))
    let n = NoProxy("10.0.0.0/8,192.168.1.7,[::1],fd00::/8,host.test:8080")
    #expect(n.matches("10.200.3.4") && !n.matches("11.0.0.1"))
    #expect(n.matches("192.168.1.7") && !n.matches("192.168.1.8"))
    #expect(n.matches("::1") && n.matches("fd12::5") && !n.matches("fe80::1"))
    #expect(n.matches("host.test"))
    #expect(NoProxy("127.0.0.1/32").matches("127.0.0.1") && !NoProxy("127.0.0.1/32").matches("127.0.0.2"))
    #expect(NoProxy("").isEmpty && !NoProxy("").matches("x"))
  }
}

@Suite("Choosing the proxy (CHECKLIST D7)")
struct ProxyChoiceTests {
  func choose(_ url: String, flag: String? = nil, noProxy: String? = nil, _ env: [String: String]) throws
    -> String?
  {
    try ProxyChoice.choose(for: uri(url), flag: flag, noProxyFlag: noProxy, environment: env).proxy?.host
  }

  @Test("ws:// reads ws_proxy, WS_PROXY, http_proxy, all_proxy, ALL_PROXY; never HTTP_PROXY")
  func wsOrder() throws {
    let all = [
      "ws_proxy": "a", "WS_PROXY": "b", "http_proxy": "c", "all_proxy": "d", "ALL_PROXY": "e",
      "HTTP_PROXY": "x",
      "https_proxy": "y", "wss_proxy": "z",
    ]
    var env = all
    for expected in ["a", "b", "c", "d", "e"] {
      #expect(try choose("ws://h/", env) == expected)
      env = env.filter { $0.value != expected }
    }
    #expect(try choose("ws://h/", ["HTTP_PROXY": "x"]) == nil)
    #expect(try choose("ws://h/", ["http_proxy": ""]) == nil, "empty counts as unset")
  }

  @Test("wss:// reads wss_proxy, WSS_PROXY, https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY")
  func wssOrder() throws {
    var env = [
      "wss_proxy": "a", "WSS_PROXY": "b", "https_proxy": "c", "HTTPS_PROXY": "d", "all_proxy": "e",
      "ALL_PROXY": "f", "http_proxy": "x", "ws_proxy": "y",
    ]
    for expected in ["a", "b", "c", "d", "e", "f"] {
      #expect(try choose("wss://h/", env) == expected)
      env = env.filter { $0.value != expected }
    }
  }

  @Test("--proxy wins, '' turns proxies off, no_proxy and --noproxy apply, ws+unix is never proxied")
  func overrides() throws {
    let env = ["http_proxy": "envproxy", "no_proxy": "direct.test"]
    #expect(try choose("ws://h/", flag: "flagproxy", env) == "flagproxy")
    #expect(try choose("ws://h/", flag: "", env) == nil)
    #expect(try choose("ws://direct.test/", env) == nil)
    #expect(try choose("ws://direct.test/", flag: "flagproxy", env) == nil, "no_proxy applies to --proxy too")
    #expect(try choose("ws://direct.test/", noProxy: "other.test", env) == "envproxy")
    #expect(try choose("ws+unix:/run/x.sock", env) == nil)
    #expect(throws: ProxyURL.ParseError.self) { try choose("ws://h/", ["ws_proxy": "gopher://p"]) }
  }
}

@Suite("HTTP CONNECT (RFC 9110 §9.3.6, CHECKLIST D1–D3, D9)")
struct HTTPConnectTests {
  /// Feeds `reply` whole and one byte at a time; both must agree.
  func feed(_ reply: String, to hs: HTTPConnectHandshake) -> (
    Result<HTTPConnectHandshake.Reply?, ProxyError>, Bool
  ) {
    func run(_ chunks: [[UInt8]]) -> Result<HTTPConnectHandshake.Reply?, ProxyError> {
      var h = hs
      for chunk in chunks {
        do throws(ProxyError) {
          if let r = try h.receive(chunk) {
            return .success(r)
          }
        } catch {
          return .failure(error)
        }
      }
      return .success(nil)
    }
    let bytes = Array(reply.utf8)
    let whole = run([bytes])
    let bytewise = run(bytes.map { [$0] })
    let same: Bool
    switch (whole, bytewise) {
    case (.success(let a), .success(let b)): same = a?.head == b?.head && a?.leftover == b?.leftover
    // Fed byte by byte, a reply that is not HTTP is refused at its first wrong byte, so
    // the text shown is shorter; failing is what must agree.
    case (.failure, .failure): same = true
    default: same = false
    }
    return (whole, same)
  }

  let hs = HTTPConnectHandshake(host: "::1", port: 8080, isIPv6Literal: true, user: "u", password: "p@ss")

  @Test("D1: the port always, IPv6 in brackets, Basic credentials, redacted for -v")
  func request() {
    #expect(
      String(decoding: hs.requestBytes(), as: UTF8.self)
        == "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\nProxy-Authorization: Basic dTpwQHNz\r\n\r\n")
    #expect(hs.requestLines(redactingCredentials: true).last == "Proxy-Authorization: Basic [redacted]")
    let plain = HTTPConnectHandshake(host: "h", port: 80, isIPv6Literal: false, user: nil, password: nil)
    #expect(plain.requestLines(redactingCredentials: false) == ["CONNECT h:80 HTTP/1.1", "Host: h:80"])
  }

  @Test("D3: a 2xx opens the tunnel after the blank line, Content-Length ignored; leftover kept")
  func established() throws {
    let (r, same) = feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", to: hs)
    #expect(same)
    let reply = try #require(try r.get())
    #expect(reply.leftover.isEmpty)
    let (r2, _) = feed("HTTP/1.0 200 Connection established\r\n\r\nabc", to: hs)
    #expect(try r2.get()?.leftover == Array("abc".utf8))
  }

  @Test("D2: refusals name the status, escaped; a 407 says what to do")
  func refused() {
    for (reply, text) in [
      ("HTTP/1.1 403 Forbidden\r\n\r\n", "HTTP 403 Forbidden"),
      ("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "(it refused the credentials)"),
      ("HTTP/1.1 502 Bad\u{1B}[2J Gateway\r\n\r\n", "HTTP 502 Bad\\x1b[2J Gateway"),
    ] {
      let (r, same) = feed(reply, to: hs)
      #expect(same, "\(reply)")
      guard case .failure(let e) = r else {
        Issue.record("\(reply) accepted")
        continue
      }
      #expect(e.description.contains(text), "\(e.description)")
    }
  }

  @Test("not HTTP at the first wrong byte; D9: endless headers stop at the limit")
  func malformed() {
    let (r, _) = feed("SSH-2.0-OpenSSH\r\n", to: hs)
    guard case .failure(let e) = r else {
      Issue.record("accepted")
      return
    }
    #expect(e.description.contains("not HTTP"))
    var h = hs
    var failed = false
    let line = Array("X-Filler: \(String(repeating: "y", count: 100))\r\n".utf8)
    _ = try? h.receive(Array("HTTP/1.1 200 OK\r\n".utf8))
    for _ in 0..<2000 {
      do throws(ProxyError) {
        _ = try h.receive(line)
      } catch {
        failed = true
        break
      }
    }
    #expect(failed, "headers were accepted without bound")
  }
}

@Suite("SOCKS5 (RFC 1928, RFC 1929)")
struct Socks5Tests {
  /// Plays the proxy: answers each step with the next of `answers`; returns what was sent
  /// and the outcome. Answers are fed one byte at a time.
  func run(_ hs: Socks5Handshake, _ answers: [[UInt8]]) -> (sent: [[UInt8]], Result<[UInt8], ProxyError>?) {
    var h = hs
    var sent = [h.greeting()]
    for answer in answers {
      for byte in answer {
        do throws(ProxyError) {
          switch try h.receive([byte]) {
          case nil: continue
          case .send(let bytes)?: sent.append(bytes)
          case .established(let leftover)?: return (sent, .success(leftover))
          }
        } catch {
          return (sent, .failure(error))
        }
      }
    }
    return (sent, nil)
  }

  @Test("no authentication; a name for socks5h, bound address skipped by its length")
  func plain() throws {
    let hs = try Socks5Handshake(destination: .name("example.com"), port: 443, user: nil, password: nil)
    let reply: [UInt8] = [5, 0, 0, 3, 4] + Array("abcd".utf8) + [0, 80]
    let (sent, outcome) = run(hs, [[5, 0], reply])
    #expect(sent[0] == [5, 1, 0])
    #expect(sent[1] == [5, 1, 0, 3, 11] + Array("example.com".utf8) + [1, 187])
    #expect(try outcome?.get() == [])
    // Bytes after the reply, in the same read, come out as the tunnel's first bytes.
    var h = hs
    _ = try h.receive([5, 0])
    #expect(try h.receive(reply + [0x42]) == .established(leftover: [0x42]))
  }

  @Test("RFC 1929 user/password, IPv4 and IPv6 destinations")
  func authenticated() throws {
    let hs = try Socks5Handshake(destination: .ipv4([127, 0, 0, 1]), port: 8080, user: "u", password: "pw")
    let (sent, outcome) = run(hs, [[5, 2], [1, 0], [5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90]])
    #expect(sent == [[5, 2, 0, 2], [1, 1, 0x75, 2, 0x70, 0x77], [5, 1, 0, 1, 127, 0, 0, 1, 0x1F, 0x90]])
    #expect(try outcome?.get() == [])
    let v6 = try Socks5Handshake(
      destination: .ipv6(Array(repeating: 0, count: 15) + [1]), port: 1, user: nil, password: nil)
    let (sent6, outcome6) = run(v6, [[5, 0], [5, 0, 0, 4] + Array(repeating: 0, count: 16) + [0, 1]])
    #expect(sent6[1].prefix(4) == [5, 1, 0, 4])
    #expect(try outcome6?.get() == [])
  }

  @Test("refusals: no acceptable method, wrong credentials, each reply code, not SOCKS5")
  func refusals() throws {
    let anon = try Socks5Handshake(destination: .name("h"), port: 1, user: nil, password: nil)
    let authed = try Socks5Handshake(destination: .name("h"), port: 1, user: "u", password: "p")
    let cases: [(Socks5Handshake, [[UInt8]], String)] = [
      (anon, [[5, 0xFF]], "wants credentials"),
      (anon, [[5, 2]], "wants credentials"),
      (authed, [[5, 0xFF]], "accepts none of the offered"),
      (authed, [[5, 2], [1, 1]], "refused the user name and password"),
      (anon, [[5, 0], [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]], "connection refused"),
      (anon, [[5, 0], [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]], "not allowed by ruleset"),
      (anon, [[0x48, 0x54]], "not SOCKS5"),
      (anon, [[5, 0], [5, 0, 0, 9, 0]], "address type 9"),
    ]
    for (hs, answers, text) in cases {
      let (_, outcome) = run(hs, answers)
      guard case .failure(let e)? = outcome else {
        Issue.record("\(answers): \(String(describing: outcome))")
        continue
      }
      #expect(e.description.contains(text), "\(e.description)")
    }
    #expect(throws: ProxyError.self) {
      try Socks5Handshake(
        destination: .name("h"), port: 1, user: String(repeating: "u", count: 256), password: nil)
    }
  }
}
