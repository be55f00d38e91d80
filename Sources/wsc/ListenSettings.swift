import ArgumentParser
import WebSocketClient
import WebSocketDeflate
import WebSocketProtocol

/// The command line of listen mode (`-l [host:]port`), checked before any I/O (exit 64).
struct ListenSettings {
  var server: WebSocketServer.Configuration
  var once: Bool
  /// --tag: "[N] " before every client message from the first one.
  var tagAll: Bool
  var echo: Bool
  var execute: [String]
  var binaryInput: Bool
  /// The kind of message each input line (and each -x message) becomes: binary with -b.
  var inputKind: Message.Kind { binaryInput ? .binary : .text }
  var separator: UInt8
  /// After each message written to stdout; nil with --no-separator.
  var outputSeparator: UInt8?
  var base64: Bool
  var showPingPong: Bool
  var verbose: Bool
  /// --jsonl: each client's events as JSON lines, with `client`.
  var jsonl: Bool
  /// -j/--json: how JSON text messages are shown; nil shows them as they are.
  var jsonDisplay: JSONDisplay?
  /// --jsonl-input: stdin lines are JSON commands, broadcast to every client.
  var jsonlInput: Bool
  var prompt: InteractiveOptions

  init(command: WSC) throws {
    guard let text = command.listenOptions.listen else { throw ValidationError("missing --listen") }
    if command.url != nil || command.connectURL != nil {
      throw ValidationError("--listen accepts clients; it takes no URL")
    }
    let (host, port) = try Self.parseAddress(text)
    var unsupported: [String] = []
    if !command.handshake.header.isEmpty { unsupported.append("-H/--header") }
    if command.handshake.origin != nil { unsupported.append("--origin") }
    if command.handshake.auth != nil { unsupported.append("--auth") }
    if command.handshake.host != nil { unsupported.append("--host") }
    if command.tls.ca != nil { unsupported.append("--ca") }
    if command.tls.noCheck { unsupported.append("--no-check") }
    if command.sending.count != nil { unsupported.append("--count") }
    if command.sending.wait != nil { unsupported.append("-w/--wait") }
    if command.network.proxy != nil { unsupported.append("--proxy") }
    if command.network.noproxy != nil { unsupported.append("--noproxy") }
    if command.network.location { unsupported.append("-L/--location") }
    if command.network.proxyCa != nil { unsupported.append("--proxy-ca") }
    if command.network.proxyInsecure { unsupported.append("--proxy-insecure") }
    if command.network.maxRedirects != nil { unsupported.append("--max-redirects") }
    if !command.handshake.cookie.isEmpty { unsupported.append("--cookie") }
    if !command.handshake.headerFile.isEmpty { unsupported.append("--header-file") }
    if command.session.log != nil { unsupported.append("--log") }
    if command.handshake.compression != nil { unsupported.append("--compression") }
    if command.session.reconnect != nil { unsupported.append("--reconnect") }
    if command.session.reconnectMaxDelay != nil { unsupported.append("--reconnect-max-delay") }
    if command.session.reconnectStopCodes != nil { unsupported.append("--reconnect-stop-codes") }
    if let first = unsupported.first {
      throw ValidationError("\(first) is for connecting; it does not apply to --listen")
    }
    try Settings.checkCertificateFlags(command)
    var seen: Set<String> = []
    for p in command.handshake.subprotocol {
      guard !p.isEmpty, p.utf8.allSatisfy(HTTPHeadParser.isTokenByte) else {
        throw ValidationError("-s: invalid subprotocol \"\(Terminal.escape(p))\"")
      }
      guard seen.insert(p).inserted else { throw ValidationError("-s: subprotocol \"\(p)\" given twice") }
    }
    if command.listenOptions.noSubprotocol && !command.handshake.subprotocol.isEmpty {
      throw ValidationError("--no-subprotocol and -s/--subprotocol contradict each other")
    }
    let maxSize = try Settings.maxMessageSize(command)
    try Settings.requireSeconds("--close-timeout", command.network.closeTimeout)
    if let n = command.listenOptions.maxClients, !(1...1_000_000).contains(n) {
      throw ValidationError("--max-clients takes a number from 1 to 1000000, not \(n)")
    }
    server = WebSocketServer.Configuration(
      host: host, port: port,
      handshake: ServerHandshake.Options(
        subprotocols: command.handshake.subprotocol, acceptsAnyOffered: !command.listenOptions.noSubprotocol,
        negotiators: command.handshake.noCompression ? [] : [PerMessageDeflateServer()], serverName: "wsc"),
      handshakeTimeout: command.network.connectTimeout, closeTimeout: command.network.closeTimeout,
      maxMessageSize: maxSize, traceFrames: command.session.verbose,
      tls: command.tls.cert.map {
        TLSServerOptions(certificateFile: $0, keyFile: command.tls.key, passphrase: command.tls.passphrase)
      },
      keepalive: try command.session.keepalive())
    // Without --max-clients, the server's own default (512, as --help says).
    if let n = command.listenOptions.maxClients { server.maxConnections = n }
    once = command.listenOptions.once
    tagAll = command.listenOptions.tag
    echo = command.receiving.echo
    execute = command.sending.execute
    binaryInput = command.sending.binary
    separator = command.sending.null ? 0 : UInt8(ascii: "\n")
    if command.receiving.noSeparator && command.receiving.base64 {
      throw ValidationError("--no-separator would run --base64 lines together; use one of them")
    }
    outputSeparator = command.receiving.noSeparator ? nil : separator
    base64 = command.receiving.base64
    showPingPong = command.receiving.showPingPong
    verbose = command.session.verbose
    jsonl = command.receiving.jsonl
    jsonDisplay = try Settings.jsonDisplay(command)
    if let t = command.receiving.timestamps, t != "local" && t != "relative" {
      throw ValidationError("--timestamps takes local or relative, not \"\(Terminal.escape(t))\"")
    }
    jsonlInput = command.sending.jsonlInput
    if jsonl && (command.receiving.base64 || command.receiving.noSeparator) {
      throw ValidationError("--base64 and --no-separator do not apply with --jsonl")
    }
    if jsonlInput && command.sending.binary {
      throw ValidationError("-b does not apply with --jsonl-input: each command says its type")
    }
    prompt = command.interactive
  }

  /// "8080" → 127.0.0.1:8080; "0.0.0.0:8080", "[::]:8080", "localhost:8080".
  static func parseAddress(_ text: String) throws -> (String, Int) {
    var host = "127.0.0.1"
    var portText = Substring(text)
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
        throw ValidationError("invalid --listen \"\(Terminal.escape(text))\" (expected [v6]:port)")
      }
      host = String(text[text.index(after: text.startIndex)..<close])
      portText = text[text.index(close, offsetBy: 2)...]
    } else if let colon = text.lastIndex(of: ":") {
      host = String(text[..<colon])
      portText = text[text.index(after: colon)...]
      if host.contains(":") {
        throw ValidationError("put an IPv6 address in brackets: --listen [\(Terminal.escape(host))]:port")
      }
    }
    guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
      throw ValidationError("invalid --listen host in \"\(Terminal.escape(text))\"")
    }
    guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = Int(portText),
      (0...65535).contains(port)
    else {
      throw ValidationError("invalid --listen port in \"\(Terminal.escape(text))\" (0–65535)")
    }
    return (host, port)
  }
}
