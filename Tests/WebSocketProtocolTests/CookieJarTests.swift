import Testing

@testable import WebSocketProtocol

/// RFC 6265 matching of a Netscape cookie file (`--cookie FILE`).
struct CookieJarTests {
  static let file = """
    # Netscape HTTP Cookie File
    # https://curl.se/docs/http-cookies.html

    .example.com\tTRUE\t/\tFALSE\t0\tsite\tall
    example.com\tFALSE\t/chat\tFALSE\t0\tchat\tyes
    #HttpOnly_api.example.com\tFALSE\t/\tTRUE\t4102444800\tsession\tabc123
    example.com\tTRUE\t/\tFALSE\t1000\told\texpired
    other.org\tTRUE\t/\tFALSE\t0\tnope\tx
    """

  let jar = try! CookieJar(netscape: Self.file)

  func names(_ host: String, _ path: String, secure: Bool = false) -> [String] {
    jar.matching(host: host, path: path, secure: secure, now: 2_000_000_000).map(\.name)
  }

  @Test func section5_1_3_domainMatchIncludesSubdomainsOnlyWhenFlagged() {
    #expect(names("example.com", "/") == ["site"])
    #expect(names("www.example.com", "/") == ["site"])
    #expect(names("EXAMPLE.com", "/chat") == ["site", "chat"])
    // "chat" is host-only: a subdomain does not get it.
    #expect(names("www.example.com", "/chat") == ["site"])
    #expect(names("notexample.com", "/") == [])
  }

  @Test func section5_1_4_pathMatchIsByWholeSegments() {
    #expect(names("example.com", "/chat/room?x=1") == ["site", "chat"])
    #expect(names("example.com", "/chatter") == ["site"])
    #expect(names("example.com", "/") == ["site"])
  }

  @Test func section5_4_secureCookiesOnlyOverWss() {
    #expect(names("api.example.com", "/") == ["site"])
    #expect(names("api.example.com", "/", secure: true) == ["site", "session"])
  }

  @Test func expiredCookiesAreDroppedAndSessionCookiesKept() {
    #expect(!names("example.com", "/").contains("old"))
    let early = jar.matching(host: "example.com", path: "/", secure: false, now: 999).map(\.name)
    #expect(early == ["site", "old"])
  }

  @Test func theHeaderJoinsNameValuePairs() {
    #expect(
      jar.header(host: "api.example.com", path: "/", secure: true, now: 2_000_000_000)
        == "site=all; session=abc123")
    #expect(jar.header(host: "nothing.test", path: "/", secure: true, now: 0) == nil)
  }

  @Test func anIPAddressNeverMatchesBySuffix() throws {
    let jar = try CookieJar(netscape: "0.0.1\tTRUE\t/\tFALSE\t0\ta\tb\n127.0.0.1\tFALSE\t/\tFALSE\t0\tc\td")
    #expect(jar.matching(host: "10.0.0.1", path: "/", secure: false, now: 0).isEmpty)
    #expect(jar.matching(host: "127.0.0.1", path: "/", secure: false, now: 0).map(\.name) == ["c"])
  }

  @Test func crlfFilesParseAsLF() throws {
    // "\r\n" is a single Character in Swift; a split on "\n" alone would see one line.
    let jar = try CookieJar(
      netscape: "# c\r\na.com\tFALSE\t/\tFALSE\t0\tn\tv\r\nb.com\tFALSE\t/\tFALSE\t0\tm\tw\r\n")
    #expect(jar.cookies.map(\.name) == ["n", "m"])
  }

  @Test func badLinesNameTheirNumber() {
    #expect(throws: CookieJar.ParseError(line: 2, reason: "expected 7 TAB-separated fields, found 3")) {
      try CookieJar(netscape: "# c\na\tb\tc\n")
    }
    #expect(throws: CookieJar.ParseError(line: 1, reason: "the 2nd and 4th fields must be TRUE or FALSE")) {
      try CookieJar(netscape: "a.com\tyes\t/\tFALSE\t0\tn\tv")
    }
    #expect(
      throws: CookieJar.ParseError(line: 1, reason: "the 5th field (expiry) must be seconds since 1970")
    ) {
      try CookieJar(netscape: "a.com\tTRUE\t/\tFALSE\tsoon\tn\tv")
    }
  }
}
