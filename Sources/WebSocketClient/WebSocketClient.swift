import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A WebSocket client with the browser's shape: set the hooks, `connect()`, then `send`,
/// `ping` and `close` from any thread.
///
/// One I/O thread per connection owns the socket and the protocol state machine
/// (DESIGN.md §2). It waits in `poll()` on the socket; other threads enqueue commands and
/// wake it with a signal (`WakeSignal`). Hooks run on the I/O thread with no lock held, so a hook may call
/// `send`. Memory stays bounded both ways: `send` blocks while more than
/// `sendQueueLimit` bytes wait (except on the I/O thread itself), the I/O thread stops
/// reading the socket while its write buffer is full, and a hook that blocks (a slow
/// stdout) stops the reading too, so TCP pushes back on the server.
public final class WebSocketClient: WebSocketPeer, @unchecked Sendable {
  /// Everything the connection needs to know before it starts.
  public struct Configuration: Sendable {
    public var handshake: ClientHandshake.Options
    /// Covers DNS, TCP connect and the opening handshake together (CHECKLIST B2).
    public var connectTimeout: Double
    /// How long to wait for the server's Close after ours (RFC 6455 §7.1.2).
    public var closeTimeout: Double
    public var maxMessageSize: Int
    /// Report every frame through `onFrame` (for `-v`).
    public var traceFrames: Bool
    /// Bytes of queued messages above which `send` blocks.
    public var sendQueueLimit: Int
    /// TLS settings for wss:// URIs.
    public var tls: TLSOptions
    /// Keepalive Pings, when set.
    public var keepalive: Keepalive?
    /// How to choose the proxy for each URI (`ProxyChoice`); empty rules connect directly.
    public var proxyRules = ProxyChoice.Rules()
    /// TLS settings for an `https://` proxy (its own trust: `--proxy-ca`, `--proxy-insecure`).
    public var proxyTLS = TLSOptions()
    /// Follow up to this many redirects of the opening handshake (`-L`); nil follows none.
    public var maxRedirects: Int?

    public init(
      handshake: ClientHandshake.Options, connectTimeout: Double = 10, closeTimeout: Double = 2,
      maxMessageSize: Int = 64 << 20, traceFrames: Bool = false, sendQueueLimit: Int = 4 << 20,
      tls: TLSOptions = TLSOptions(), keepalive: Keepalive? = nil
    ) {
      self.tls = tls
      self.keepalive = keepalive
      self.handshake = handshake
      self.connectTimeout = connectTimeout
      self.closeTimeout = closeTimeout
      self.maxMessageSize = maxMessageSize
      self.traceFrames = traceFrames
      self.sendQueueLimit = sendQueueLimit
    }
  }

  /// The handshake succeeded; queued messages go out next.
  public var onOpen: ((ClientHandshake.Response) -> Void)?
  /// The request lines (credentials redacted), before they are sent (for `-v`).
  public var onRequest: (([String]) -> Void)?
  /// The response head, as received (for `-v`).
  public var onResponseHead: ((HTTPHeadParser.Head) -> Void)?
  /// The TLS session, once its handshake succeeded (for `-v`).
  public var onTLSSession: ((TLSSessionInfo) -> Void)?
  /// Each step of opening the proxy tunnel (for `-v`; credentials redacted).
  public var onProxyTrace: ((ProxyTrace) -> Void)?
  /// The proxy chosen for a connection (each redirect hop chooses anew), for `-v`.
  public var onProxyChoice: ((ProxyChoice) -> Void)?
  /// A redirect is being followed: the status, where to, and the hop number (1, 2…).
  public var onRedirect: ((Int, WebSocketURI, Int) -> Void)?

  public let configuration: Configuration
  private let handshake: ClientHandshake

  /// Builds the request now, so header and URL errors surface before any I/O.
  public init(configuration: Configuration) throws(ClientHandshake.RequestError) {
    self.configuration = configuration
    self.handshake = try ClientHandshake(options: configuration.handshake)
    super.init(
      limits: Limits(
        role: .client, closeTimeout: configuration.closeTimeout, maxMessageSize: configuration.maxMessageSize,
        traceFrames: configuration.traceFrames, sendQueueLimit: configuration.sendQueueLimit,
        keepalive: configuration.keepalive))
  }

  override func releaseHooks() {
    super.releaseHooks()
    onOpen = nil
    onRequest = nil
    onResponseHead = nil
    onTLSSession = nil
    onProxyTrace = nil
    onProxyChoice = nil
    onRedirect = nil
  }

  /// Starts the I/O thread, which connects and runs the connection.
  public func connect() {
    startIO { [self] in run() }
  }

  private func run() -> CloseResult {
    var result = CloseResult(received: nil, sent: nil, initiatedLocally: false, error: nil, wasOpen: false)
    // One deadline for DNS, TCP, the proxy, TLS, the handshake and every redirect (B2).
    let deadline = MonotonicClock.now() + configuration.connectTimeout
    var hs = handshake
    var visited: Set<String> = [hs.options.uri.description]
    var hop = 0
    while true {
      let attempt = connectAndOpen(hs, deadline: deadline)
      switch attempt {
      case .opened(let transport, let response, let leftover):
        defer { transport.close() }
        result.wasOpen = true
        onOpen?(response)
        // The extension the server accepted (permessage-deflate), with a fresh codec.
        var connection = WebSocketConnection(
          role: .client,
          configuration: .init(
            maxMessageSize: configuration.maxMessageSize, traceFrames: configuration.traceFrames),
          extension: response.negotiated.first?.makeExtension(role: .client), random: MaskingKeySource())
        return runOpen(&connection, transport, leftover: leftover, result: result)
      case .failed(let error):
        // G1: without -L a redirect is reported (the message names the Location).
        guard let limit = configuration.maxRedirects,
          case .handshake(.unexpectedStatus(let code, _, let head)) = error, Redirect.statuses.contains(code),
          let location = head.values("Location").first
        else {
          result.error = error
          onError?(error)
          return result
        }
        switch nextHop(from: hs, location: location, hop: hop + 1, limit: limit, visited: &visited) {
        case .failure(let error):
          result.error = error
          onError?(error)
          return result
        case .success(let next):
          hop += 1
          onRedirect?(code, next.options.uri, hop)
          hs = next
        }
      }
    }
  }

  private enum Attempt {
    case opened(Transport, ClientHandshake.Response, [UInt8])
    case failed(WebSocketClientError)
  }

  /// One connection: TCP (directly, through the proxy, or to a Unix socket), TLS for
  /// wss://, then the opening handshake.
  private func connectAndOpen(_ hs: ClientHandshake, deadline: Double) -> Attempt {
    let uri = hs.options.uri
    let fd: Int32
    do throws(SocketConnector.Failure) {
      if let path = uri.unixSocketPath {
        fd = try SocketConnector.connectUnix(path: path, deadline: deadline)
      } else {
        let choice: ProxyChoice
        do throws(ProxyURL.ParseError) {
          choice = try configuration.proxyRules.choose(for: uri)
        } catch {
          return .failed(.proxy(error.description))
        }
        onProxyChoice?(choice)
        if let proxy = choice.proxy {
          switch openTunnel(through: proxy, to: uri, deadline: deadline) {
          case .success(let tunnel): fd = tunnel
          case .failure(let error): return .failed(error)
          }
        } else {
          fd = try SocketConnector.connect(
            host: uri.host, port: uri.port, deadline: deadline, cancelled: { lock.withLock { aborted } })
        }
      }
    } catch {
      return .failed(error.timedOut ? .timeout(error.message) : .connectFailed(error.message))
    }
    let transport: Transport
    if uri.secure {
      // RFC 6455 §4.1 step 5: TLS first; no HTTP byte goes out before verification succeeds.
      // The name checked is the origin's, also through a proxy (CHECKLIST D6).
      let tls: TLSTransport
      do throws(WebSocketClientError) {
        tls = try TLSTransport(
          fileDescriptor: fd, host: uri.host, isIPLiteral: uri.isIPv6Literal || Self.isIPv4(uri.host),
          options: configuration.tls)
      } catch {
        _ = Glibc.close(fd)
        return .failed(error)
      }
      if let error = tls.handshake(wait: { write in waitFor(tls, write: write, deadline: deadline) }) {
        tls.close()
        return .failed(error)
      }
      onTLSSession?(tls.sessionInfo)
      transport = tls
    } else {
      transport = SocketTransport(fileDescriptor: fd)
    }
    switch openingHandshake(hs, transport, deadline: deadline) {
    case .success(let (response, leftover)): return .opened(transport, response, leftover)
    case .failure(let error):
      transport.close()
      return .failed(error)
    }
  }

  /// The handshake for the next hop of a redirect (CHECKLIST G2–G5): the Location resolved,
  /// the hop counted and checked for a loop, credentials kept only for the same origin.
  private func nextHop(
    from hs: ClientHandshake, location: String, hop: Int, limit: Int, visited: inout Set<String>
  ) -> Result<ClientHandshake, WebSocketClientError> {
    let current = hs.options.uri
    let next: WebSocketURI
    do throws(Redirect.Failure) {
      next = try Redirect.target(of: location, from: current)
    } catch {
      return .failure(.redirect(error.description))
    }
    guard hop <= limit else {
      return .failure(.redirect("more than \(limit) redirect\(limit == 1 ? "" : "s") (--max-redirects)"))
    }
    guard visited.insert(next.description).inserted else {
      return .failure(.redirect("redirect loop: \(next) was already visited"))
    }
    var options = hs.options
    options.uri = next
    if !Redirect.sameOrigin(current, next) {
      // G4: another origin gets no credentials meant for this one.
      options.basicAuth = nil
      options.uri.user = nil
      options.uri.password = nil
      let sensitive: Set<String> = ["authorization", "cookie", "proxy-authorization"]
      options.headers.removeAll { sensitive.contains($0.name.lowercased()) }
      options.hostOverride = nil
    }
    do throws(ClientHandshake.RequestError) {
      return .success(try ClientHandshake(options: options))
    } catch {
      return .failure(.redirect("cannot follow the redirect to \(next): \(error.description)"))
    }
  }

  private func openingHandshake(
    _ handshake: ClientHandshake, _ transport: Transport, deadline: Double
  ) -> Result<(ClientHandshake.Response, [UInt8]), WebSocketClientError> {
    var hs = handshake
    onRequest?(hs.requestLines(redactingCredentials: true))
    let request = hs.requestBytes()
    var written = 0
    while written < request.count {
      let r = request.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[written...])) }
      switch r {
      case .done(let n): written += n
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(transport, write: wantsWrite, deadline: deadline) { return .failure(e) }
      case .eof, .failed: return .failure(.handshake(.connectionClosedWhileSending))
      }
    }
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
      let r = buffer.withUnsafeMutableBytes { transport.read($0) }
      switch r {
      case .done(let n):
        var outcome: Result<(ClientHandshake.Response, Int)?, ClientHandshake.ResponseError> = .success(nil)
        buffer.withUnsafeBytes { raw in
          do throws(ClientHandshake.ResponseError) {
            outcome = .success(try hs.receive(UnsafeRawBufferPointer(rebasing: raw[..<n])))
          } catch {
            outcome = .failure(error)
          }
        }
        switch outcome {
        case .success(let accepted?):
          onResponseHead?(accepted.0.head)
          return .success((accepted.0, Array(buffer[accepted.1..<n])))
        case .success(nil): break
        case .failure(let error):
          if case .unexpectedStatus(_, _, let head) = error { onResponseHead?(head) }
          return .failure(.handshake(error))
        }
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(transport, write: wantsWrite, deadline: deadline) { return .failure(e) }
      // A reset before the response is complete is a failed handshake (F7), not a lost
      // WebSocket; a TLS alert here (TLS 1.3 asks for client certificates after its
      // handshake) is a TLS failure.
      case .eof:
        // TLS 1.3 servers check the client certificate after their handshake: one that
        // wanted a certificate and hangs up here has rejected us for the lack of one.
        if let tls = transport as? TLSTransport, tls.certificateWasRequested {
          return .failure(.tls(tls.explain(nil)))
        }
        return .failure(.handshake(hs.receiveEOF()))
      case .failed(let s):
        if let tls = transport as? TLSTransport { return .failure(.tls(tls.explain(s))) }
        return .failure(.handshake(hs.receiveEOF()))
      }
    }
  }

  /// Dotted-quad IPv4 literal (no SNI, and the certificate is checked for an IP SAN).
  static func isIPv4(_ host: String) -> Bool {
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
      && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isNumber) && Int(p)! <= 255 }
  }
}

/// A duration as a user typed it: "2" for 2.0, "0.5" for 0.5 (for messages naming an option).
public func formatSeconds(_ s: Double) -> String {
  s == s.rounded() ? String(Int(s)) : String(s)
}
