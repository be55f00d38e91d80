import WebSocketClient
import WebSocketProtocol

/// The `-v` trace, one format in every mode (issue 20): each line starts with "* " (curl's
/// prefix for information), then "> " for what wsc sent or "< " for what it received:
///
///     * > GET / HTTP/1.1
///     * < HTTP/1.1 101 Switching Protocols
///     * permessage-deflate: client_max_window_bits=15
///     * > frame TEXT fin len=5 "hello"
///
/// At the prompt a bare "> " line is the prompt or a typed message and "< " a message
/// received, so a trace line must never start with either.
enum Trace {
  /// "* ", after the --timestamps prefix when that is on.
  static var prefix: String { Stamp.prefix() + "* " }

  /// Lines sent (a request, or a response in listen mode), escaped.
  static func sent(_ lines: [String]) -> [String] {
    lines.map { "\(prefix)> \(Terminal.escape($0))" }
  }

  /// Which proxy is used and why; nil when no proxy is involved at all.
  static func proxyChoice(_ choice: ProxyChoice) -> String? {
    if let proxy = choice.proxy {
      return "\(prefix)proxy \(proxy) (\(choice.reason)\(proxy.hasCredentials ? ", with credentials" : ""))"
    }
    return choice.reason == "no proxy set" ? nil : "\(prefix)no proxy: \(Terminal.escape(choice.reason))"
  }

  /// A redirect followed with -L: "* redirect 1: 302 to ws://host:80/next".
  static func redirect(_ code: Int, _ next: WebSocketURI, _ hop: Int) -> String {
    "\(prefix)redirect \(hop): \(code) to \(Terminal.escape(next.description))"
  }

  /// A step of opening the proxy tunnel: "* proxy > CONNECT …", "* proxy < HTTP/1.1 200 …".
  static func proxy(_ trace: ProxyTrace) -> [String] {
    switch trace {
    case .sent(let lines): return lines.map { "\(prefix)proxy > \(Terminal.escape($0))" }
    case .received(let head):
      return ["\(prefix)proxy < \(Terminal.escape(head.startLine))"]
        + head.headers.map { "\(prefix)proxy < \(Terminal.escape($0.name)): \(Terminal.escape($0.value))" }
    case .note(let text): return ["\(prefix)proxy: \(Terminal.escape(text))"]
    }
  }

  /// A head received (the server's response, or a client's request in listen mode), escaped.
  static func received(_ head: HTTPHeadParser.Head) -> [String] {
    ["\(prefix)< \(Terminal.escape(head.startLine))"]
      + head.headers.map { "\(prefix)< \(Terminal.escape($0.name)): \(Terminal.escape($0.value))" }
  }
}
