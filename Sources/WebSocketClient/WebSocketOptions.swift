import WebSocketProtocol

extension WebSocket {
  /// What `WebSocket.connect` needs beyond the URL: the few settings of
  /// `WebSocketClient.Configuration` an application commonly changes, with the same defaults
  /// as the command line.
  public struct Options: Sendable {
    /// Extra request header fields, in order (`Authorization`, `Cookie`…).
    public var headers: [(name: String, value: String)]
    /// Subprotocols to offer, most preferred first (RFC 6455 §4.1, `Sec-WebSocket-Protocol`);
    /// the one the server chose is `WebSocket.subprotocol`.
    public var subprotocols: [String]
    /// The `Origin` header a browser would send (§4.1 step 8, §10.2); nil sends none.
    public var origin: String?
    /// Extensions to offer: `[PerMessageDeflate()]` from the `WebSocketDeflate` product turns
    /// compression on (RFC 7692). Empty, the default, offers none, so this library does not
    /// make its users link zlib.
    public var extensions: [any ExtensionNegotiator]
    /// Seconds for DNS, TCP, TLS and the opening handshake together.
    public var connectTimeout: Double
    /// Seconds to wait for the server's Close after ours before dropping TCP (§7.1.1).
    public var closeTimeout: Double
    /// Certificate verification, a CA file, a client certificate, for `wss://`.
    public var tls: TLSOptions
    /// A larger message fails the connection with 1009 (§7.4.1) instead of being buffered.
    public var maxMessageSize: Int
    /// How many received messages may wait for the consumer of `messages`. When more are
    /// waiting the connection stops reading the socket, so TCP slows the server down instead
    /// of memory growing without bound.
    public var maxBufferedMessages: Int
    /// The same bound in payload bytes (one message larger than this is still delivered).
    public var maxBufferedBytes: Int

    public init(
      headers: [(name: String, value: String)] = [], subprotocols: [String] = [], origin: String? = nil,
      extensions: [any ExtensionNegotiator] = [], connectTimeout: Double = 10, closeTimeout: Double = 2,
      tls: TLSOptions = TLSOptions(), maxMessageSize: Int = 64 << 20, maxBufferedMessages: Int = 16,
      maxBufferedBytes: Int = 1 << 20
    ) {
      self.headers = headers
      self.subprotocols = subprotocols
      self.origin = origin
      self.extensions = extensions
      self.connectTimeout = connectTimeout
      self.closeTimeout = closeTimeout
      self.tls = tls
      self.maxMessageSize = maxMessageSize
      self.maxBufferedMessages = maxBufferedMessages
      self.maxBufferedBytes = maxBufferedBytes
    }

    /// The client's configuration for `uri`.
    func configuration(for uri: WebSocketURI) -> WebSocketClient.Configuration {
      WebSocketClient.Configuration(
        handshake: ClientHandshake.Options(
          uri: uri, origin: origin, subprotocols: subprotocols, negotiators: extensions, headers: headers),
        connectTimeout: connectTimeout, closeTimeout: closeTimeout, maxMessageSize: maxMessageSize, tls: tls)
    }
  }
}
