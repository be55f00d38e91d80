import Testing
import WebSocketProtocol

@Suite("Redirects of the opening handshake (-L, CHECKLIST G3–G5)")
struct RedirectTests {
  func target(_ location: String, from base: String) throws -> WebSocketURI {
    try Redirect.target(of: location, from: WebSocketURI(parsing: base))
  }

  @Test("G5: relative references resolve as RFC 3986 §5.2 says")
  func relative() throws {
    let base = "ws://h:8080/a/b/c?q=1"
    #expect(try target("d", from: base).description == "ws://h:8080/a/b/d")
    #expect(try target("../d?x", from: base).description == "ws://h:8080/a/d?x")
    #expect(try target("./", from: base).description == "ws://h:8080/a/b/")
    #expect(try target("/top", from: base).description == "ws://h:8080/top")
    #expect(try target("?only", from: base).description == "ws://h:8080/a/b/c?only")
    #expect(try target("//other:9/x", from: base).description == "ws://other:9/x")
    #expect(try target("/../../x", from: base).description == "ws://h:8080/x")
    #expect(try target("next#frag", from: base).description == "ws://h:8080/a/b/next")
    #expect(try target("x", from: "ws+unix:/run/s.sock:/a/b").description == "ws+unix:/run/s.sock:/a/x")
  }

  @Test("G5: http and https mean ws and wss; other schemes are refused")
  func schemes() throws {
    #expect(try target("https://h/x", from: "ws://a/").description == "wss://h:443/x")
    #expect(try target("HTTP://h/x", from: "ws://a/").description == "ws://h:80/x")
    #expect(throws: Redirect.Failure.self) { try target("ftp://h/x", from: "ws://a/") }
    #expect(throws: Redirect.Failure.self) { try target("   ", from: "ws://a/") }
  }

  @Test("G3: wss:// never leads to ws://")
  func downgrade() throws {
    #expect(throws: Redirect.Failure.self) { try target("ws://h/x", from: "wss://h/") }
    #expect(throws: Redirect.Failure.self) { try target("http://h/x", from: "wss://h/") }
    #expect(try target("wss://other/x", from: "wss://h/").secure)
  }

  @Test("G4: userinfo follows to the same origin only")
  func credentials() throws {
    let same = try target("/x", from: "ws://u:p@h:80/")
    #expect(same.user == "u" && same.password == "p")
    let otherPort = try target("ws://h:81/x", from: "ws://u:p@h:80/")
    #expect(otherPort.user == nil)
    let otherScheme = try target("wss://h/x", from: "ws://u:p@h/")
    #expect(otherScheme.user == nil)
    #expect(
      Redirect.sameOrigin(try WebSocketURI(parsing: "ws://H:80/"), try WebSocketURI(parsing: "ws://h/y")))
  }
}
