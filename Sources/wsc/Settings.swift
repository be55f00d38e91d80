import ArgumentParser
import WebSocketClient
import WebSocketDeflate
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The command line, checked: every usage error is found here, before any I/O (exit 64).
struct Settings {
  var client: WebSocketClient.Configuration
  var execute: [String]
  var wait: Double
  var count: Int?
  /// With `--count`, an explicit `-w S`: seconds after the end of input to wait for the N
  /// messages (nil: no deadline).
  var countTimeout: Double?
  var binaryInput: Bool
  /// The kind of message each input line (and each -x message) becomes: binary with -b.
  var inputKind: Message.Kind { binaryInput ? .binary : .text }
  var separator: UInt8
  /// After each message written to stdout; nil with --no-separator.
  var outputSeparator: UInt8?
  var base64: Bool
  var echo: Bool
  /// --jsonl: events as JSON lines on stdout (EventLog).
  var jsonl: Bool
  /// -j/--json: how JSON text messages are shown; nil shows them as they are.
  var jsonDisplay: JSONDisplay?
  /// --jsonl-input: stdin lines are JSON commands.
  var jsonlInput: Bool
  var showPingPong: Bool
  var verbose: Bool
  var closeCode: UInt16
  var closeReason: String
  var prompt: InteractiveOptions
  /// --reconnect: when to connect again; nil connects once.
  var reconnect: ReconnectPolicy?
  /// --log FILE.
  var logPath: String?

  init(command: WSC) throws {
    guard let text = command.url ?? command.connectURL else {
      throw ValidationError("missing the WebSocket URL (wsc ws://host:port/path)")
    }
    if command.url != nil && command.connectURL != nil {
      throw ValidationError("give the URL either as an argument or with -c, not both")
    }
    let uri: WebSocketURI
    do {
      uri = try WebSocketURI(parsing: text)
    } catch {
      throw ValidationError("invalid URL: \(error.description)")
    }
    try Self.checkCertificateFlags(command)
    if command.listenOptions.once { throw ValidationError("--once is for --listen") }
    if command.listenOptions.noSubprotocol { throw ValidationError("--no-subprotocol is for --listen") }
    if command.listenOptions.tag { throw ValidationError("--tag is for --listen") }
    if command.listenOptions.maxClients != nil { throw ValidationError("--max-clients is for --listen") }

    var headers: [(name: String, value: String)] = []
    for h in try Self.headerArguments(command.handshake) {
      guard let colon = h.firstIndex(of: ":") else {
        throw ValidationError("-H: invalid header \"\(Terminal.escape(h))\" (expected \"Name: value\")")
      }
      let name = String(h[..<colon])
      var value = h[h.index(after: colon)...]
      while value.first == " " || value.first == "\t" { value = value.dropFirst() }
      headers.append((name, String(value)))
    }
    if let cookies = try Self.cookieHeader(command.handshake.cookie, for: uri) {
      // One Cookie header (RFC 6265 §5.4): a -H Cookie goes first, the rest after it.
      if let i = headers.firstIndex(where: { $0.name.lowercased() == "cookie" }) {
        headers[i].value += "; " + cookies
      } else {
        headers.append(("Cookie", cookies))
      }
    }
    var basicAuth: (user: String, password: String)? = nil
    if let auth = command.handshake.auth {
      guard let colon = auth.firstIndex(of: ":") else {
        throw ValidationError("--auth expects user:password")
      }
      basicAuth = (String(auth[..<colon]), String(auth[auth.index(after: colon)...]))
    }
    // One source of credentials: the request has one Authorization header, and a second
    // source would silently lose (issue 20). The error names the sources, never the values.
    var credentialSources: [String] = []
    if headers.contains(where: { $0.name.lowercased() == "authorization" }) {
      credentialSources.append("-H 'Authorization: …'")
    }
    if basicAuth != nil { credentialSources.append("--auth") }
    if uri.user != nil { credentialSources.append("the URL's user:password@") }
    if credentialSources.count > 1 {
      throw ValidationError(
        "\(credentialSources.joined(separator: " and ")) both set the Authorization header; give one")
    }
    guard command.handshake.protocolVersion == 13 || command.handshake.protocolVersion == 8 else {
      throw ValidationError("--protocol must be 13 (or 8)")
    }
    let options = ClientHandshake.Options(
      uri: uri, origin: command.handshake.origin, subprotocols: command.handshake.subprotocol,
      // RFC 7692: offer `permessage-deflate; client_max_window_bits` unless told not to.
      negotiators: try Self.compressionOffer(command.handshake).map { [$0] } ?? [], headers: headers,
      hostOverride: command.handshake.host, basicAuth: basicAuth,
      version: command.handshake.protocolVersion)
    do throws(ClientHandshake.RequestError) {
      _ = try ClientHandshake(options: options)
    } catch {
      throw ValidationError("\(Self.flag(for: error)): \(error.description)")
    }

    let maxSize = try Self.maxMessageSize(command)
    try Self.requireSeconds("--connect-timeout", command.network.connectTimeout)
    try Self.requireSeconds("--close-timeout", command.network.closeTimeout)
    let wait = command.sending.wait ?? 2
    guard wait.isFinite, wait == -1 || (wait >= 0 && wait <= 86_400) else {
      throw ValidationError("--wait must be -1, 0 or a number of seconds")
    }
    if let count = command.sending.count, count < 1 {
      throw ValidationError("--count must be at least 1")
    }
    // With --count the wait is for N messages, not an idle wait (issue 19): the default -w
    // must not cut it short, and an explicit -w S becomes its deadline.
    var countTimeout: Double? = nil
    if command.sending.count != nil, let w = command.sending.wait, w != -1 {
      guard w > 0 else {
        throw ValidationError("-w 0 leaves --count no time; give a deadline (-w S) or none")
      }
      countTimeout = w
    }
    guard let code = UInt16(exactly: command.session.closeCode), CloseCode.isValidOnWire(code) else {
      throw ValidationError(
        "--close-code \(command.session.closeCode) may not be sent (use 1000–1003, 1007–1014 or 3000–4999)")
    }
    guard command.session.closeReason.utf8.count <= 123 else {
      throw ValidationError(
        "--close-reason is \(command.session.closeReason.utf8.count) bytes; a Close frame holds at most 123")
    }

    client = WebSocketClient.Configuration(
      handshake: options, connectTimeout: command.network.connectTimeout,
      closeTimeout: command.network.closeTimeout, maxMessageSize: maxSize,
      traceFrames: command.session.verbose,
      tls: TLSOptions(
        verifyPeer: !command.tls.noCheck, caFile: command.tls.ca, certificateFile: command.tls.cert,
        keyFile: command.tls.key, passphrase: command.tls.passphrase),
      keepalive: try command.session.keepalive())
    client.proxyRules = ProxyChoice.Rules(
      flag: command.network.proxy, noProxyFlag: command.network.noproxy, environment: Self.proxyEnvironment())
    // A proxy that cannot be parsed is a usage error now, not a surprise at connect time.
    do throws(ProxyURL.ParseError) {
      _ = try client.proxyRules.choose(for: uri)
    } catch {
      throw ValidationError(error.description)
    }
    client.proxyTLS = TLSOptions(verifyPeer: !command.network.proxyInsecure, caFile: command.network.proxyCa)
    if command.network.proxyCa != nil && command.network.proxyInsecure {
      throw ValidationError("--proxy-ca and --proxy-insecure contradict each other")
    }
    if let n = command.network.maxRedirects {
      guard command.network.location else { throw ValidationError("--max-redirects needs -L/--location") }
      guard n >= 0 else { throw ValidationError("--max-redirects must be 0 or more") }
    }
    if command.network.location { client.maxRedirects = command.network.maxRedirects ?? 10 }
    execute = command.sending.execute
    self.wait = wait
    count = command.sending.count
    self.countTimeout = countTimeout
    binaryInput = command.sending.binary
    separator = command.sending.null ? 0 : UInt8(ascii: "\n")
    if command.receiving.noSeparator && command.receiving.base64 {
      throw ValidationError("--no-separator would run --base64 lines together; use one of them")
    }
    outputSeparator = command.receiving.noSeparator ? nil : separator
    base64 = command.receiving.base64
    echo = command.receiving.echo
    jsonl = command.receiving.jsonl
    jsonDisplay = try Settings.jsonDisplay(command)
    if let t = command.receiving.timestamps, t != "local" && t != "relative" {
      throw ValidationError("--timestamps takes local or relative, not \"\(Terminal.escape(t))\"")
    }
    jsonlInput = command.sending.jsonlInput
    if jsonl {
      for (set, flag) in [
        (command.receiving.base64, "--base64"), (command.receiving.noSeparator, "--no-separator"),
      ] where set {
        throw ValidationError("\(flag) does not apply with --jsonl (binary data is base64 in the events)")
      }
    }
    if jsonlInput && command.sending.binary {
      throw ValidationError("-b does not apply with --jsonl-input: each command says its type")
    }
    showPingPong = command.receiving.showPingPong
    verbose = command.session.verbose
    closeCode = code
    closeReason = command.session.closeReason
    prompt = command.interactive
    reconnect = try command.session.reconnectPolicy()
    logPath = command.session.log
    if logPath == "" { throw ValidationError("--log needs a file name") }
    // The log has every frame: the protocol reports them only when asked.
    if logPath != nil { client.traceFrames = true }
  }

  /// `--compression` (and `--no-compression`): the permessage-deflate offer, or nil for
  /// none. `default` (or no flag) is wsc's two offers; parameters given are offered as
  /// they are, once (RFC 7692 §7.1).
  static func compressionOffer(_ options: HandshakeOptions) throws -> PerMessageDeflate? {
    if options.noCompression {
      if options.compression != nil {
        throw ValidationError("give --no-compression or --compression, not both")
      }
      return nil
    }
    guard let spec = options.compression, spec != "default" else { return .standard }
    if spec == "off" { return nil }
    var offer = PerMessageDeflate(clientMaxWindowBits: .omitted)
    var seen: Set<String> = []
    for part in spec.split(separator: ";") {
      let item = String(part.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
      let pieces = item.split(separator: "=", maxSplits: 1).map(String.init)
      let name = pieces.first?.lowercased() ?? ""
      guard seen.insert(name).inserted else {
        throw ValidationError("--compression: \(Terminal.escape(name)) given twice")
      }
      let value = pieces.count == 2 ? pieces[1] : nil
      func bits() throws -> Int {
        guard let value, let n = PerMessageDeflate.parseWindowBits(value) else {
          throw ValidationError("--compression: \(name) needs a window size 8–15")
        }
        return n
      }
      switch (name, value) {
      case ("server_no_context_takeover", nil): offer.serverNoContextTakeover = true
      case ("client_no_context_takeover", nil): offer.clientNoContextTakeover = true
      case ("server_max_window_bits", _): offer.serverMaxWindowBits = try bits()
      case ("client_max_window_bits", nil): offer.clientMaxWindowBits = .anyValue
      case ("client_max_window_bits", _): offer.clientMaxWindowBits = .value(try bits())
      default:
        throw ValidationError(
          "--compression: \"\(Terminal.escape(item))\" is not a permessage-deflate parameter (server_no_context_takeover, client_no_context_takeover, server_max_window_bits=N, client_max_window_bits[=N]), off or default"
        )
      }
    }
    return offer
  }

  /// The option a request error comes from, so the message names it (issue 16).
  static func flag(for error: ClientHandshake.RequestError) -> String {
    switch error {
    case .invalidSubprotocol, .duplicateSubprotocol: return "-s/--subprotocol"
    case .unsupportedVersion: return "--protocol"
    case .invalidHeaderValue(name: "Origin"): return "-o/--origin"
    case .invalidHeaderValue(name: "Host"): return "--host"
    case .invalidHeaderValue(name: "Authorization"): return "--auth"
    case .invalidHeaderName, .invalidHeaderValue, .reservedHeader: return "-H/--header"
    }
  }

  /// The -H values in order, `-H @FILE` and `--header-file` read in place (the files after
  /// the -H flags, as curl does not promise an order either).
  static func headerArguments(_ options: HandshakeOptions) throws -> [String] {
    var lines: [String] = []
    for h in options.header {
      guard h.hasPrefix("@") else {
        lines.append(h)
        continue
      }
      lines += TextFile.headerLines(try readFile(String(h.dropFirst()), for: "-H @FILE"))
    }
    for path in options.headerFile {
      lines += TextFile.headerLines(try readFile(path, for: "--header-file"))
    }
    return lines
  }

  /// The Cookie header value for `uri` from every --cookie (strings as given, files
  /// matched by domain, path, secure and expiry), or nil for none.
  static func cookieHeader(_ values: [String], for uri: WebSocketURI) throws -> String? {
    var parts: [String] = []
    for value in values {
      // curl's rule: with "=" it is cookie data, without it a file name.
      if value.contains("=") {
        parts.append(String(value.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()))
        continue
      }
      let text = try readFile(value, for: "--cookie")
      let jar: CookieJar
      do throws(CookieJar.ParseError) {
        jar = try CookieJar(netscape: text)
      } catch {
        throw ValidationError(
          "--cookie \(Terminal.escape(value)): not a Netscape cookie file: \(error.description)")
      }
      let now = Int64(time(nil))
      if let h = jar.header(host: uri.host, path: uri.resource, secure: uri.secure, now: now) {
        parts.append(h)
      }
    }
    let joined = parts.filter { !$0.isEmpty }.joined(separator: "; ")
    return joined.isEmpty ? nil : joined
  }

  private static func readFile(_ path: String, for flag: String) throws -> String {
    switch TextFile.read(path, for: flag) {
    case .success(let text): return text
    case .failure(let e): throw ValidationError(e.message)
    }
  }

  /// `--cert`, `--key` and `--passphrase` checks shared by client and listen mode.
  static func checkCertificateFlags(_ command: WSC) throws {
    if command.tls.passphrase != nil && command.tls.passphrasePrompt {
      throw ValidationError("give --passphrase once")
    }
    if command.tls.key != nil && command.tls.cert == nil {
      throw ValidationError("--key needs --cert")
    }
  }

  /// A duration option: above 0 and at most a day (NaN fails too); a usage error otherwise.
  static func requireSeconds(_ name: String, _ value: Double) throws {
    guard value > 0 && value <= 86_400 else {
      throw ValidationError("\(name) must be a number of seconds above 0")
    }
  }

  /// `--max-message-size`, which also bounds every `-x` message (both modes).
  static func maxMessageSize(_ command: WSC) throws -> Int {
    guard let maxSize = parseSize(command.receiving.maxMessageSize), maxSize >= 1 else {
      throw ValidationError(
        "invalid --max-message-size \"\(command.receiving.maxMessageSize)\" (e.g. 65536, 64K, 16M, 1G)")
    }
    for message in command.sending.execute where message.utf8.count > maxSize {
      throw ValidationError("an -x message is larger than --max-message-size")
    }
    return maxSize
  }

  /// Parses "65536", "64K", "16M", "1G" (binary multiples).
  static func parseSize(_ text: String) -> Int? {
    var digits = Substring(text)
    var multiplier = 1
    switch text.last.map({ Character($0.uppercased()) }) {
    case "K": multiplier = 1 << 10
    case "M": multiplier = 1 << 20
    case "G": multiplier = 1 << 30
    default: break
    }
    if multiplier > 1 { digits = digits.dropLast() }
    guard let n = Int(digits), n >= 0 else { return nil }
    let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
    return overflow || product > 1 << 40 ? nil : product
  }

  /// The proxy variables wsc reads, from the environment (ProxyChoice says in which order).
  static func proxyEnvironment() -> [String: String] {
    let names = [
      "wss_proxy", "WSS_PROXY", "ws_proxy", "WS_PROXY", "https_proxy", "HTTPS_PROXY", "http_proxy",
      "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
    ]
    var env: [String: String] = [:]
    for name in names {
      if let value = getenv(name) { env[name] = String(cString: value) }
    }
    return env
  }

  /// -j/--json[=compact], checked against the flags it cannot go with.
  static func jsonDisplay(_ command: WSC) throws -> JSONDisplay? {
    guard let text = command.receiving.json else { return nil }
    guard let style = JSONDisplay.Style(rawValue: text) else {
      throw ValidationError("--json takes pretty or compact, not \"\(Terminal.escape(text))\"")
    }
    if command.receiving.jsonl {
      throw ValidationError("-j/--json is for people; --jsonl already writes JSON")
    }
    return JSONDisplay(style: style, color: command.interactive.colored)
  }
}
