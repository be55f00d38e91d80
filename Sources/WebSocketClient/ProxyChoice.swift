import WebSocketProtocol

/// Which proxy, if any, a connection to a WebSocket URI goes through, and why (for `-v`).
///
/// `--proxy URL` wins (`--proxy ''` means none); otherwise the environment as curl and
/// Python websockets read it (DESIGN.md §4, CHECKLIST D7):
/// - wss://: `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`;
/// - ws://: `ws_proxy`, `WS_PROXY`, `http_proxy` (never `HTTP_PROXY`: a CGI program gets
///   the request's `Proxy:` header under that name, "httpoxy"), `all_proxy`, `ALL_PROXY`.
///
/// An empty variable counts as unset. `--noproxy HOSTS`, else `no_proxy`/`NO_PROXY`, lists
/// the hosts reached directly (`NoProxy`); it applies to a proxy from `--proxy` too, as in
/// curl. `ws+unix:` never uses a proxy.
public struct ProxyChoice: Sendable {
  /// The inputs of the choice, kept so each redirect hop is decided anew.
  public struct Rules: Sendable {
    /// `--proxy`, if given ('' means none).
    public var flag: String?
    /// `--noproxy`, if given.
    public var noProxyFlag: String?
    /// The proxy variables, name → value.
    public var environment: [String: String]

    public init(flag: String? = nil, noProxyFlag: String? = nil, environment: [String: String] = [:]) {
      self.flag = flag
      self.noProxyFlag = noProxyFlag
      self.environment = environment
    }

    public func choose(for uri: WebSocketURI) throws(ProxyURL.ParseError) -> ProxyChoice {
      try ProxyChoice.choose(for: uri, flag: flag, noProxyFlag: noProxyFlag, environment: environment)
    }
  }

  /// The proxy to use; nil for a direct connection.
  public var proxy: ProxyURL?
  /// "from --proxy", "from https_proxy", "no_proxy matches example.com"…
  public var reason: String

  /// `flag`: the `--proxy` value, if given. `environment`: name → value.
  public static func choose(
    for uri: WebSocketURI, flag: String?, noProxyFlag: String?, environment: [String: String]
  ) throws(ProxyURL.ParseError) -> ProxyChoice {
    if uri.unixSocketPath != nil { return ProxyChoice(proxy: nil, reason: "a Unix socket is never proxied") }
    func value(_ name: String) -> String? {
      guard let v = environment[name], !v.isEmpty else { return nil }
      return v
    }
    var source: String
    var text: String
    if let flag {
      guard !flag.isEmpty else { return ProxyChoice(proxy: nil, reason: "--proxy '' turns proxies off") }
      source = "--proxy"
      text = flag
    } else {
      let names =
        uri.secure
        ? ["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        : ["ws_proxy", "WS_PROXY", "http_proxy", "all_proxy", "ALL_PROXY"]
      guard let name = names.first(where: { value($0) != nil }) else {
        return ProxyChoice(proxy: nil, reason: "no proxy set")
      }
      source = name
      text = value(name)!
    }
    let noProxyText = noProxyFlag ?? value("no_proxy") ?? value("NO_PROXY")
    if let noProxyText, NoProxy(noProxyText).matches(uri.host) {
      let from = noProxyFlag != nil ? "--noproxy" : (value("no_proxy") != nil ? "no_proxy" : "NO_PROXY")
      return ProxyChoice(
        proxy: nil, reason: "\(from) matches \(uri.host), so not through the \(source) proxy")
    }
    let proxy: ProxyURL
    do throws(ProxyURL.ParseError) {
      proxy = try ProxyURL(parsing: text)
    } catch {
      throw ProxyURL.ParseError(description: "invalid proxy in \(source): \(error.description)")
    }
    return ProxyChoice(proxy: proxy, reason: "from \(source)")
  }
}
