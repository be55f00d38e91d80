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
  static let prefix = "* "

  /// Lines sent (a request, or a response in listen mode), escaped.
  static func sent(_ lines: [String]) -> [String] {
    lines.map { "\(prefix)> \(Terminal.escape($0))" }
  }

  /// A head received (the server's response, or a client's request in listen mode), escaped.
  static func received(_ head: HTTPHeadParser.Head) -> [String] {
    ["\(prefix)< \(Terminal.escape(head.startLine))"]
      + head.headers.map { "\(prefix)< \(Terminal.escape($0.name)): \(Terminal.escape($0.value))" }
  }
}
