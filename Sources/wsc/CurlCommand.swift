/// `wsc curl …`: a browser's "Copy as cURL" command for a WebSocket, turned into wsc's own
/// options (issue 18). curl's options that mean the same thing are mapped, those that
/// mean nothing for a WebSocket are ignored, and the headers wsc's handshake writes
/// itself are dropped; each ignored or dropped thing is named on stderr.
struct CurlCommand {
  /// wsc's arguments, ready for the normal parser.
  var arguments: [String] = []
  /// One line each for stderr: what was ignored or dropped, and why.
  var notes: [String] = []

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Headers the opening handshake owns (RFC 6455 §4.1): the browser's values would be
  /// wrong for wsc's connection (its key, its extension offer).
  static let handshakeOwned: Set<String> = [
    "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "upgrade", "connection",
  ]

  /// curl options with the same meaning in wsc, and wsc's spelling.
  static let mappedWithValue: [String: String] = [
    "-b": "--cookie", "--cookie": "--cookie", "-u": "--auth", "--user": "--auth", "-x": "--proxy",
    "--proxy": "--proxy", "--noproxy": "--noproxy", "--cacert": "--ca", "-E": "--cert", "--cert": "--cert",
    "--key": "--key", "--pass": "--passphrase", "--connect-timeout": "--connect-timeout",
    "--max-redirs": "--max-redirects", "--proxy-cacert": "--proxy-ca",
  ]
  static let mappedFlags: [String: String] = [
    "-k": "--no-check", "--insecure": "--no-check", "-L": "-L", "--location": "-L", "-v": "-v",
    "--verbose": "-v", "--proxy-insecure": "--proxy-insecure",
  ]
  /// Options that change nothing for a WebSocket handshake (compression of a body there
  /// is none of, the HTTP version a WebSocket over HTTP/1.1 always uses, curl's output).
  static let ignoredFlags: Set<String> = [
    "--compressed", "-s", "--silent", "-S", "--show-error", "-i", "--include", "-N", "--no-buffer",
    "--http1.1", "--http1.0", "--http2", "--http2-prior-knowledge", "--http3", "-g", "--globoff",
    "--path-as-is", "-#", "--progress-bar", "--no-progress-meter", "-f", "--fail", "--raw",
  ]
  static let ignoredWithValue: Set<String> = ["-m", "--max-time", "--retry", "--retry-delay"]
  /// curl short options that take a value, for `-Hvalue` and `-sSL` forms.
  static let shortWithValue: Set<Character> = [
    "H", "b", "u", "x", "E", "A", "e", "X", "m", "d", "F", "T", "o",
  ]

  /// Translates curl's arguments (after the word `curl`). Everything after `--` is
  /// passed to wsc as it is (`wsc curl URL -H … -- -x hello --jsonl`).
  init(curlArguments input: [String]) throws(Failure) {
    var args = Self.splitShortOptions(input)
    var url: String?
    var wscTail: [String] = []
    if let dash = args.firstIndex(of: "--") {
      wscTail = Array(args[(dash + 1)...])
      args = Array(args[..<dash])
    }
    var dropped: [String] = []
    var ignored: [String] = []
    var i = 0
    func value(_ option: String) throws(Failure) -> String {
      i += 1
      guard i < args.count else { throw Failure(description: "\(option) needs a value") }
      return args[i]
    }
    while i < args.count {
      let a = args[i]
      defer { i += 1 }
      if !a.hasPrefix("-") || a == "-" {
        guard url == nil else {
          throw Failure(description: "more than one URL (\(Terminal.escape(url!)) and \(Terminal.escape(a)))")
        }
        url = a
        continue
      }
      if a == "--url" {
        let u = try value(a)
        guard url == nil else { throw Failure(description: "more than one URL") }
        url = u
      } else if a == "-H" || a == "--header" {
        try header(try value(a), dropped: &dropped)
      } else if a == "-A" || a == "--user-agent" {
        arguments += ["-H", "User-Agent: " + (try value(a))]
      } else if a == "-e" || a == "--referer" {
        arguments += ["-H", "Referer: " + (try value(a))]
      } else if let mapped = Self.mappedWithValue[a] {
        arguments += [mapped, try value(a)]
      } else if let mapped = Self.mappedFlags[a] {
        arguments.append(mapped)
      } else if a == "-X" || a == "--request" {
        let method = try value(a)
        guard method.uppercased() == "GET" else {
          throw Failure(description: "\(a) \(Terminal.escape(method)): a WebSocket handshake is a GET")
        }
        ignored.append("\(a) GET")
      } else if Self.ignoredFlags.contains(a) {
        ignored.append(a)
      } else if Self.ignoredWithValue.contains(a) {
        ignored.append("\(a) \(try value(a))")
      } else if [
        "-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "-F", "--form", "-T",
        "--upload-file",
      ]
      .contains(a) {
        throw Failure(
          description: "\(a): a WebSocket handshake has no request body; send messages with -x or stdin")
      } else {
        throw Failure(
          description:
            "\(Terminal.escape(a)) is a curl option wsc does not map; leave it out, or put wsc's own options after --"
        )
      }
    }
    guard let url else { throw Failure(description: "no URL in the curl command") }
    arguments.append(Self.webSocketURL(url))
    if !ignored.isEmpty {
      notes.append("ignored \(ignored.joined(separator: ", ")) (nothing to do for a WebSocket)")
    }
    if !dropped.isEmpty {
      notes.append("dropped \(dropped.joined(separator: ", ")) (wsc's handshake writes its own)")
    }
    arguments += wscTail
  }

  /// One `-H`: handshake-owned headers dropped, `Sec-WebSocket-Protocol` offered with
  /// `-s`, `Host` as `--host`, the rest as they are.
  private mutating func header(_ h: String, dropped: inout [String]) throws(Failure) {
    if h.hasPrefix("@") {
      arguments += ["-H", h]
      return
    }
    guard let colon = h.firstIndex(of: ":") else {
      // curl's "-H 'Name;'" sends an empty header; "-H Name" without a colon is nothing.
      throw Failure(description: "-H \(Terminal.escape(h)): expected \"Name: value\"")
    }
    let name = String(h[..<colon])
    let value = String(h[h.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
    switch name.lowercased() {
    case let n where Self.handshakeOwned.contains(n):
      dropped.append(name)
    case "sec-websocket-protocol":
      for p in value.split(separator: ",") {
        arguments += ["-s", String(p.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())]
      }
    case "host":
      arguments += ["--host", value]
    default:
      // An empty value would remove a curl default header; wsc has none to remove.
      if value.isEmpty { return }
      arguments += ["-H", "\(name): \(value)"]
    }
  }

  /// http(s):// in such a command means ws(s):// (browsers show the http form too).
  static func webSocketURL(_ url: String) -> String {
    let lower = url.lowercased()
    if lower.hasPrefix("https://") { return "wss://" + url.dropFirst(8) }
    if lower.hasPrefix("http://") { return "ws://" + url.dropFirst(7) }
    return url
  }

  /// `-sSL` → `-s -S -L`, `-HName: v` → `-H`, `Name: v`; long options untouched.
  static func splitShortOptions(_ args: [String]) -> [String] {
    var out: [String] = []
    var passThrough = false
    for a in args {
      if passThrough || a == "--" {
        passThrough = true
        out.append(a)
        continue
      }
      guard a.hasPrefix("-"), !a.hasPrefix("--"), a.count > 2 else {
        out.append(a)
        continue
      }
      var rest = a.dropFirst()
      while let c = rest.first {
        rest = rest.dropFirst()
        out.append("-" + String(c))
        if shortWithValue.contains(c) {
          if !rest.isEmpty { out.append(String(rest)) }
          break
        }
      }
    }
    return out
  }
}
