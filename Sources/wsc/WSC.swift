import ArgumentParser
import WebSocketClient
import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Listen mode: wsc as a server.
struct ListenOptions: ParsableArguments {
  @Option(
    name: [.short, .customLong("listen")],
    help: ArgumentHelp(
      "Accept WebSocket clients on [host:]port instead of connecting. The host is 127.0.0.1 unless given: use 0.0.0.0:PORT or [::]:PORT to accept clients from other machines; port 0 picks a free one.",
      valueName: "[host:]port"))
  var listen: String?

  @Flag(help: "With --listen: exit when the first client disconnects.")
  var once = false

  @Flag(
    help:
      "With --listen: accept no subprotocol. Without -s, the client's first offered subprotocol is accepted, as a browser or Node ws client needs."
  )
  var noSubprotocol = false

  @Flag(
    help:
      "With --listen: tag every client message with [N] from the first one. Without it, tags start once two clients have been connected at the same time, and stay."
  )
  var tag = false

  @Option(
    help: ArgumentHelp(
      "With --listen: serve at most N clients at once (default 512; each has its own thread). A client beyond that is closed as soon as it connects, with a line on stderr.",
      valueName: "n"))
  var maxClients: Int?
}

/// Handshake options: what the opening request asks for.
struct HandshakeOptions: ParsableArguments {
  @Option(
    name: [.customShort("H"), .long],
    help: ArgumentHelp(
      "Add a request header (repeatable); -H @FILE reads one header a line from FILE.",
      valueName: "Name: value"))
  var header: [String] = []

  @Option(
    help: ArgumentHelp(
      "Headers from FILE, one \"Name: value\" a line (# comments; repeatable).", valueName: "file"))
  var headerFile: [String] = []

  @Option(
    help: ArgumentHelp(
      "Cookies: \"name=value; …\" sent as given, or a Netscape cookie file (curl's format) from which only the cookies matching the URL are sent (repeatable).",
      valueName: "data|file"))
  var cookie: [String] = []

  @Option(name: [.short, .long], help: "Origin header value.")
  var origin: String?

  @Option(
    name: [.short, .long],
    help: ArgumentHelp(
      "Offer a subprotocol (repeatable); with --listen, a subprotocol to accept (then only those).",
      valueName: "name"))
  var subprotocol: [String] = []

  @Option(help: ArgumentHelp("Basic authentication credentials.", valueName: "user:pass"))
  var auth: String?

  @Option(help: ArgumentHelp("Host header value (instead of the URL's host).", valueName: "name"))
  var host: String?

  @Option(
    name: [.customShort("p"), .customLong("protocol")],
    help: ArgumentHelp("Sec-WebSocket-Version to send: 13, or 8 for old servers.", valueName: "version"))
  var protocolVersion: Int = 13

  @Flag(help: "Do not offer permessage-deflate compression (offered by default).")
  var noCompression = false

  @Option(
    help: ArgumentHelp(
      "The permessage-deflate offer: off, default, or its parameters as in the header, e.g. 'client_max_window_bits=10; server_no_context_takeover'.",
      valueName: "spec"))
  var compression: String?
}

/// TLS options for wss:// (DESIGN.md §6).
struct TLSFlags: ParsableArguments {
  @Option(
    name: [.customLong("ca"), .customLong("cacert")],
    help: ArgumentHelp("Trust this CA file (PEM) instead of the system store.", valueName: "file"))
  var ca: String?

  @Option(
    help: ArgumentHelp(
      "Client certificate (PEM) for servers that ask for one; with --listen, the server certificate (wss://).",
      valueName: "file"))
  var cert: String?

  @Option(help: ArgumentHelp("Private key (PEM) of --cert.", valueName: "file"))
  var key: String?

  @Option(
    help: ArgumentHelp(
      "Passphrase of an encrypted --key; without a value, wsc asks on the terminal.", valueName: "pw"))
  var passphrase: String?

  @Flag(name: .customLong("passphrase-prompt"), help: .hidden)
  var passphrasePrompt = false

  @Flag(
    name: [.customShort("n"), .customLong("no-check"), .customShort("k"), .customLong("insecure")],
    help: "Do not verify the server's certificate (insecure; prints a warning).")
  var noCheck = false

  @Option(
    help: ArgumentHelp(
      "Append the TLS session keys to this file (NSS key log format, as SSLKEYLOGFILE), so Wireshark can decrypt the traffic; '' turns off SSLKEYLOGFILE. Prints a warning.",
      valueName: "file"))
  var sslkeylogfile: String?
}

/// Network options: timeouts.
struct NetworkOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp("Seconds allowed for DNS, TCP and the opening handshake together.", valueName: "s"))
  var connectTimeout: Double = 10

  @Option(help: ArgumentHelp("Seconds to wait for the server's Close after ours.", valueName: "s"))
  var closeTimeout: Double = 2

  @Option(
    help: ArgumentHelp(
      "Connect through this proxy: http://[user:pw@]host[:port] (HTTP CONNECT), socks5://… (names resolved here) or socks5h://… (by the proxy); the port defaults to 1080. '' turns off the proxy of the environment (ws_proxy, http_proxy, all_proxy…).",
      valueName: "url"))
  var proxy: String?

  @Option(
    help: ArgumentHelp(
      "Hosts to reach without the proxy, comma-separated: names (and their subdomains), IP addresses, CIDR ranges, or * for all (instead of no_proxy).",
      valueName: "hosts"))
  var noproxy: String?

  @Option(
    help: ArgumentHelp(
      "For an https:// proxy: trust this CA file (PEM) for the proxy's certificate instead of the system store.",
      valueName: "file"))
  var proxyCa: String?

  @Flag(help: "For an https:// proxy: do not verify the proxy's certificate (a warning says so).")
  var proxyInsecure = false

  @Flag(
    name: [.customShort("L"), .long],
    help:
      "Follow redirects (301, 302, 303, 307, 308) of the opening handshake; never from wss:// to ws://, and credentials only to the same origin."
  )
  var location = false

  @Option(help: ArgumentHelp("With -L: at most N redirects (default 10).", valueName: "n"))
  var maxRedirects: Int?
}

/// What to send and when to stop.
struct SendingOptions: ParsableArguments {
  @Option(
    name: [.customShort("x"), .long],
    help: ArgumentHelp("Send MSG right after the handshake (repeatable, in order).", valueName: "MSG"))
  var execute: [String] = []

  @Option(
    name: [.short, .long], parsing: .unconditional,
    help: ArgumentHelp(
      "After the end of input, wait until S seconds pass with no incoming message (0: close at once, -1: until the server closes; default 2). With --count: the deadline for the N messages.",
      valueName: "S"))
  var wait: Double?

  @Flag(name: [.short, .long], help: "Send each input line and each -x message as a binary message.")
  var binary = false

  @Flag(
    name: [.customShort("0"), .customLong("null")],
    help: "Input and output messages are separated by NUL, not newline.")
  var null = false

  @Flag(
    help:
      "Read each stdin line as a JSON command: {\"text\": …}, {\"binary\": \"base64\"}, {\"ping\": …}, {\"close\": {\"code\": 1000, \"reason\": …}}, {\"sleep\": seconds}."
  )
  var jsonlInput = false

  @Option(
    help: ArgumentHelp(
      "Print exactly N messages, then close; wait for them (no idle wait) until they arrive, the server closes, or an explicit -w S passes (exit 9).",
      valueName: "N"))
  var count: Int?
}

/// How incoming messages are handled.
struct ReceivingOptions: ParsableArguments {
  @Flag(name: [.customShort("P"), .long], help: "Print a notice on stderr for each ping and pong.")
  var showPingPong = false

  @Flag(
    help:
      "Write every event (open, message, ping, pong, close, error) to stdout as one JSON object per line (schema: Docs/Events.md)."
  )
  var jsonl = false

  @Option(
    help: ArgumentHelp(
      "Put the time before each message and -v line: --timestamps (local time, milliseconds) or --timestamps=relative (seconds since connecting).",
      valueName: "local|relative"))
  var timestamps: String?

  @Option(
    name: [.customShort("j"), .long],
    help: ArgumentHelp(
      "Show text messages that are JSON indented (and coloured on a terminal): -j/--json, or --json=compact for one line each. Other text is shown as it is.",
      valueName: "pretty|compact"))
  var json: String?

  @Option(help: ArgumentHelp("Largest message accepted or sent (suffixes K, M, G).", valueName: "size"))
  var maxMessageSize: String = "64M"

  @Flag(help: "Print binary messages as base64 lines.")
  var base64 = false

  @Flag(
    help:
      "Write each received message with nothing after it (no newline, no NUL), byte for byte: wsc --count 1 --no-separator URL > file.bin. A terminal still gets one message a line."
  )
  var noSeparator = false

  @Flag(
    help:
      "Answer every message with the same message and type; ignore stdin; stay until the server closes (with --listen: an echo server)."
  )
  var echo = false
}

/// Closing.
struct SessionOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp("Close code to send at the end (1000–1003, 1007–1014, 3000–4999).", valueName: "code"))
  var closeCode: Int = 1000

  @Option(help: ArgumentHelp("Close reason to send at the end (at most 123 bytes).", valueName: "text"))
  var closeReason: String = ""

  @Option(
    help: ArgumentHelp(
      "Send a Ping every S seconds; give up (exit 9) if its Pong is later than --ping-timeout.",
      valueName: "s"))
  var pingInterval: Double?

  @Option(
    help: ArgumentHelp("Seconds to wait for the Pong of a --ping-interval Ping (default 20).", valueName: "s")
  )
  var pingTimeout: Double?

  /// The keepalive settings, or nil without --ping-interval; usage errors for bad values.
  func keepalive() throws -> Keepalive? {
    if let pingInterval { try Settings.requireSeconds("--ping-interval", pingInterval) }
    if let pingTimeout { try Settings.requireSeconds("--ping-timeout", pingTimeout) }
    guard let pingInterval else {
      if pingTimeout != nil { throw ValidationError("--ping-timeout needs --ping-interval") }
      return nil
    }
    return Keepalive(interval: pingInterval, timeout: pingTimeout ?? 20)
  }

  @Flag(name: [.short, .long], help: "Print the handshake and one line per frame on stderr.")
  var verbose = false

  @Option(
    help: ArgumentHelp(
      "Write the whole session to FILE as it happens: handshake both ways, every frame, messages, the close (--jsonl events; mode 0600).",
      valueName: "file"))
  var log: String?

  @Option(
    help: ArgumentHelp(
      "When the connection is lost (or the server closes with a code not in --reconnect-stop-codes), connect again with backoff, at most N times in a row: --reconnect (no limit) or --reconnect=N.",
      valueName: "n"))
  var reconnect: String?

  @Option(
    help: ArgumentHelp("With --reconnect: the longest wait between attempts (default 30).", valueName: "s"))
  var reconnectMaxDelay: Double?

  @Option(
    help: ArgumentHelp(
      "With --reconnect: server Close codes that end the session (default 1000; 1005 is a Close without a code).",
      valueName: "codes"))
  var reconnectStopCodes: String?

  /// The reconnect policy, or nil without --reconnect; usage errors for bad values.
  func reconnectPolicy() throws -> ReconnectPolicy? {
    guard let reconnect else {
      if reconnectMaxDelay != nil { throw ValidationError("--reconnect-max-delay needs --reconnect") }
      if reconnectStopCodes != nil { throw ValidationError("--reconnect-stop-codes needs --reconnect") }
      return nil
    }
    var policy = ReconnectPolicy()
    if reconnect != "unlimited" {
      guard let n = Int(reconnect), n >= 1 else {
        throw ValidationError(
          "--reconnect=N takes a number of attempts of at least 1, not \"\(Terminal.escape(reconnect))\"")
      }
      policy.maxAttempts = n
    }
    if let reconnectMaxDelay {
      try Settings.requireSeconds("--reconnect-max-delay", reconnectMaxDelay)
      policy.maxDelay = reconnectMaxDelay
    }
    if let reconnectStopCodes {
      var codes: Set<UInt16> = []
      for part in reconnectStopCodes.split(separator: ",", omittingEmptySubsequences: false) {
        let text = part.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()
        guard let code = UInt16(String(text)), (1000...4999).contains(code) else {
          throw ValidationError(
            "--reconnect-stop-codes takes close codes (1000–4999) separated by commas, not \"\(Terminal.escape(String(part)))\""
          )
        }
        codes.insert(code)
      }
      policy.stopCodes = codes
    }
    return policy
  }
}

@main
struct WSC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "wsc",
    abstract: "A WebSocket client for terminals, pipes and scripts.",
    discussion: """
      Each line of stdin is sent as a text message; each message received is printed
      on stdout. Lines that arrive before the handshake completes are queued, never
      dropped. At the end of input wsc waits until --wait seconds pass with no
      incoming message, then closes cleanly.

      wsc -l [host:]port listens instead: every client that connects gets each input
      line (broadcast), and what clients send is printed, tagged [N] from the moment
      two are connected (--tag: from the first message). It binds 127.0.0.1 unless a host is given (0.0.0.0:PORT or
      [::]:PORT to expose it). --echo makes it an echo server, -x greets each
      client, --once exits when the first client leaves; --cert/--key serve wss://.
      It runs until interrupted.

      URL forms: ws://host[:port]/path, wss://…, [::1] literals, user:pass@host
      (Basic auth), host:port (means ws://), ws+unix:/path/to.sock:/request/path.

      Exit codes: 0 normal close, 1 server closed with another code, 3 could not
      connect, 4 proxy failure, 5 TLS failure, 6 handshake rejected, 7 protocol violation by the
      server, 8 connection lost, 9 timeout, 10 local I/O error, 64 usage error,
      130/143 interrupted. With --listen: 3 when the address cannot be bound; with
      --once, the first client's close as above.

      wsc curl URL -H … (a browser's "Copy as cURL" command) runs it with wsc's own
      options, saying what it ignored; wsc curl --from FILE reads it as pasted.

      Shell completion: wsc --generate-completion-script bash|zsh|fish prints the
      script for that shell (install commands in the README).
      """,
    version: Version.text)

  /// Printed after the options by `--help` (ArgumentParser puts the discussion first),
  /// and the EXAMPLES section of the man page (scripts/manpage.sh).
  static let examples = """
    EXAMPLES:
      wsc ws://127.0.0.1:8080/                   the prompt, in a terminal
      seq 3 | wsc ws://127.0.0.1:8080/           lines in, replies out
      wsc --count 1 -w 5 -x ping wss://host/     one reply, or exit 9
      wsc --jsonl ws://host/feed | jq .          every event as JSON
      wsc --reconnect -w -1 wss://host/feed      a feed across server restarts
      wsc --proxy http://proxy:3128 -L wss://host/
      wsc curl 'wss://host/ws' -H 'Cookie: …'    a browser's "Copy as cURL"
      wsc -l 8080 --echo                         an echo server
    """

  @Argument(help: "The WebSocket URL.")
  var url: String?

  @Option(
    name: [.short, .customLong("connect")],
    help: ArgumentHelp("The WebSocket URL (as -c in wscat).", valueName: "url"))
  var connectURL: String?

  @OptionGroup(title: "Listen") var listenOptions: ListenOptions
  @OptionGroup(title: "Handshake") var handshake: HandshakeOptions
  @OptionGroup(title: "TLS") var tls: TLSFlags
  @OptionGroup(title: "Network") var network: NetworkOptions
  @OptionGroup(title: "Sending") var sending: SendingOptions
  @OptionGroup(title: "Receiving") var receiving: ReceivingOptions
  @OptionGroup(title: "Session") var session: SessionOptions
  @OptionGroup(title: "Interactive") var interactive: InteractiveOptions

  static func main() {
    StandardStreams.prepare()
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "curl" { arguments = fromCurl(Array(arguments.dropFirst())) }
    // --help ends with the examples, where a reader who scrolled past the options is.
    let options = arguments.prefix { $0 != "--" }
    if options.contains("--help") || options.contains("-h") {
      print(helpMessage(columns: nil))
      print(examples)
      Glibc.exit(ExitStatus.ok)
    }
    if FishCompletion.requestedShell(arguments) == .fish {
      print(FishCompletion.script(for: Self.self))
      Glibc.exit(ExitStatus.ok)
    }
    Self.main(Self.rewritingBarePassphrase(arguments))
  }

  /// `wsc curl …` (CurlCommand): the browser's command as wsc's arguments, after saying on
  /// stderr what was ignored. `wsc curl --from FILE` reads the command as pasted (either
  /// shell's quoting, ShellWords); a usage error (64) names what could not be mapped.
  static func fromCurl(_ arguments: [String]) -> [String] {
    var curlArguments = arguments
    if arguments.first == "--from" {
      guard arguments.count >= 2 else { usageExit("wsc curl --from needs a file (- for stdin)") }
      let rest = Array(arguments.dropFirst(2))
      // Only wsc's own options may follow the file, after --.
      guard rest.isEmpty || rest.first == "--" else {
        usageExit("wsc curl --from FILE takes wsc's options after --, not \(Terminal.escape(rest[0]))")
      }
      let text: String
      switch TextFile.read(arguments[1], for: "wsc curl --from") {
      case .success(let t): text = t
      case .failure(let e): usageExit(e.message)
      }
      do throws(ShellWords.Failure) {
        var words = try ShellWords.split(text)
        guard let first = words.first, first == "curl" || first == "curl.exe" else {
          usageExit("wsc curl --from \(Terminal.escape(arguments[1])): the command does not start with curl")
        }
        words.removeFirst()
        curlArguments = words + rest
      } catch {
        usageExit("wsc curl --from \(Terminal.escape(arguments[1])): \(error.description)")
      }
    }
    do throws(CurlCommand.Failure) {
      let command = try CurlCommand(curlArguments: curlArguments)
      for note in command.notes { Terminal.error("curl command: \(note)") }
      return command.arguments
    } catch {
      usageExit("curl command: \(error.description)")
    }
  }

  private static func usageExit(_ message: String) -> Never {
    Terminal.error(message)
    Glibc.exit(ExitStatus.usage)
  }

  /// `--passphrase` may stand without a value (wscat's `--passphrase [pw]`): when the next
  /// argument is missing, another option or the URL, ask on the terminal instead.
  static func rewritingBarePassphrase(_ arguments: [String]) -> [String] {
    var out: [String] = []
    var i = 0
    while i < arguments.count {
      let a = arguments[i]
      if a == "--" {
        out += arguments[i...]
        break
      }
      // --timestamps alone means local time; --timestamps=relative picks the other form.
      if a == "--timestamps" {
        out.append("--timestamps=local")
        i += 1
        continue
      }
      // --reconnect alone means no limit; --reconnect=N stops after N attempts in a row.
      if a == "--reconnect" {
        out.append("--reconnect=unlimited")
        i += 1
        continue
      }
      // -j/--json alone means pretty; --json=compact keeps one message a line.
      if a == "--json" || a == "-j" {
        out.append("--json=pretty")
        i += 1
        continue
      }
      if a == "--passphrase" {
        let next = i + 1 < arguments.count ? arguments[i + 1] : nil
        if next == nil || next!.hasPrefix("-") || next!.contains("://") {
          out.append("--passphrase-prompt")
          i += 1
          continue
        }
      }
      out.append(a)
      i += 1
    }
    return out
  }

  func validate() throws {
    if listenOptions.listen != nil {
      _ = try ListenSettings(command: self)
    } else {
      _ = try Settings(command: self)
    }
  }

  func run() throws {
    // Set once, before any thread starts (validate() has checked the value).
    if let text = receiving.timestamps, let mode = Stamp.Mode(rawValue: text) { Stamp.mode = mode }
    if listenOptions.listen != nil {
      var settings = try ListenSettings(command: self)
      if tls.passphrasePrompt {
        guard let passphrase = Passphrase.read(prompt: "Passphrase for \(tls.key ?? tls.cert ?? "the key"): ")
        else {
          throw ValidationError("--passphrase without a value needs a terminal to ask on")
        }
        settings.server.tls?.passphrase = passphrase
      }
      // Only a wss:// server has keys to log.
      if settings.server.tls != nil, let request = KeyLogSetting(command: self) {
        settings.server.tls?.keyLog = request.open()
      }
      Session.exit(ListenSession(settings: settings).run())
    }
    var settings = try Settings(command: self)
    if tls.passphrasePrompt {
      guard let passphrase = Passphrase.read(prompt: "Passphrase for \(tls.key ?? tls.cert ?? "the key"): ")
      else {
        throw ValidationError("--passphrase without a value needs a terminal to ask on")
      }
      settings.client.tls.passphrase = passphrase
    }
    if let request = KeyLogSetting(command: self), Self.mayUseTLS(settings.client) {
      let keyLog = request.open()
      settings.client.tls.keyLog = keyLog
      settings.client.proxyTLS.keyLog = keyLog
    }
    if !settings.client.tls.verifyPeer && settings.client.handshake.uri.secure {
      Terminal.error("warning: --no-check: the server's certificate is not verified (insecure)")
    }
    if network.proxyInsecure {
      Terminal.error("warning: --proxy-insecure: the proxy's certificate is not verified (insecure)")
    }
    let session: Session
    do {
      session = try Session(settings: settings)
    } catch {
      throw ValidationError("\(error)")
    }
    let code = session.run()
    Session.exit(code)
  }

  /// wss://, an https:// proxy, or -L (a redirect may lead to wss://): a plain ws:// run has
  /// no TLS keys, so SSLKEYLOGFILE set for other tools creates no file and no warning.
  static func mayUseTLS(_ client: WebSocketClient.Configuration) -> Bool {
    if client.handshake.uri.secure || client.maxRedirects != nil { return true }
    return (try? client.proxyRules.choose(for: client.handshake.uri))?.proxy?.kind == .https
  }
}
