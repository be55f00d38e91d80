import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What the I/O thread says while it opens a proxy tunnel (for `-v`). Credentials are
/// never in it: the CONNECT request is shown with `Proxy-Authorization: Basic [redacted]`.
public enum ProxyTrace: Sendable {
  /// Request lines sent to an HTTP proxy.
  case sent([String])
  /// The HTTP proxy's reply head.
  case received(HTTPHeadParser.Head)
  /// A step of a SOCKS5 exchange, in words.
  case note(String)
}

extension WebSocketClient {
  /// Connects to `proxy` and opens a tunnel to the origin (`uri`), all before `deadline`.
  /// Returns the socket, through which the origin is reached as if directly.
  func openTunnel(through proxy: ProxyURL, to uri: WebSocketURI, deadline: Double) -> Result<
    Int32, WebSocketClientError
  > {
    let fd: Int32
    do throws(SocketConnector.Failure) {
      fd = try SocketConnector.connect(
        host: proxy.host, port: proxy.port, deadline: deadline, cancelled: { lock.withLock { aborted } })
    } catch {
      if error.timedOut { return .failure(.timeout("\(error.message) (the proxy \(proxy))")) }
      return .failure(.proxy("\(error.message) (the proxy \(proxy))"))
    }
    // An https:// proxy: TLS to the proxy first (its own name and trust: --proxy-ca), then
    // the CONNECT inside it, then a relay thread so the tunnel is a plain socket again.
    let transport: Transport
    if proxy.kind == .https {
      let tls: TLSTransport
      do throws(WebSocketClientError) {
        tls = try TLSTransport(
          fileDescriptor: fd, host: proxy.host,
          isIPLiteral: proxy.isIPv6Literal || NoProxy.addressBytes(proxy.host) != nil,
          options: configuration.proxyTLS)
      } catch {
        _ = Glibc.close(fd)
        return .failure(.proxy("TLS with the proxy \(proxy): \(error.description)"))
      }
      if let error = tls.handshake(wait: { write in waitFor(tls, write: write, deadline: deadline) }) {
        tls.close()
        if case .timeout = error {
          return .failure(.timeout("during the TLS handshake with the proxy \(proxy)"))
        }
        return .failure(.proxy("TLS with the proxy \(proxy): \(error.description)"))
      }
      transport = tls
    } else {
      transport = SocketTransport(fileDescriptor: fd)
    }
    let outcome: Result<[UInt8], WebSocketClientError>
    switch proxy.kind {
    case .http, .https: outcome = httpConnect(transport, proxy, uri, deadline)
    case .socks5, .socks5h: outcome = socks5Connect(transport, proxy, uri, deadline)
    }
    switch outcome {
    case .failure(let e):
      transport.close()
      return .failure(e)
    case .success(let leftover) where !leftover.isEmpty:
      // The origin cannot have spoken yet: nothing has been sent through the tunnel. Such
      // bytes are a body the proxy sent after its reply, and must not be taken for the
      // server's (a forged handshake response, or garbage for TLS).
      transport.close()
      return .failure(
        .proxy(
          "the proxy sent \(leftover.count) byte\(leftover.count == 1 ? "" : "s") after its reply, before the"
            + " tunnel was used: \"\(ProxyError.printable(leftover, limit: 64))\""))
    case .success:
      if let socket = transport as? SocketTransport { return .success(socket.detach()) }
      let tls = transport as! TLSTransport
      guard let relayed = ProxyRelay.start(over: tls) else {
        let e = errno
        tls.close()
        return .failure(.local("cannot create a socket pair for the proxy's TLS: \(errnoText(e))"))
      }
      return .success(relayed)
    }
  }

  private func httpConnect(
    _ socket: Transport, _ proxy: ProxyURL, _ uri: WebSocketURI, _ deadline: Double
  )
    -> Result<[UInt8], WebSocketClientError>
  {
    var hs = HTTPConnectHandshake(
      host: uri.host, port: uri.port, isIPv6Literal: uri.isIPv6Literal, user: proxy.user,
      password: proxy.password)
    onProxyTrace?(.sent(hs.requestLines(redactingCredentials: true)))
    if let e = sendAll(socket, hs.requestBytes(), deadline) { return .failure(e) }
    // Read what is there, never past the reply's end on purpose: one read may still carry
    // bytes after it, which the caller checks.
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
      switch readSome(socket, &buffer, deadline) {
      case .failure(let e): return .failure(e)
      case .success(let n):
        switch Self.feed(buffer, n, { (bytes) throws(ProxyError) in try hs.receive(bytes) }) {
        case .failure(let error): return .failure(.proxy(error.description))
        case .success(nil): continue
        case .success(let reply?):
          onProxyTrace?(.received(reply.head))
          return .success(reply.leftover)
        }
      }
    }
  }

  private func socks5Connect(
    _ socket: Transport, _ proxy: ProxyURL, _ uri: WebSocketURI, _ deadline: Double
  )
    -> Result<[UInt8], WebSocketClientError>
  {
    let destination: Socks5Handshake.Destination
    if proxy.kind == .socks5h && NoProxy.addressBytes(uri.host) == nil {
      destination = .name(uri.host)
      onProxyTrace?(.note("SOCKS5: asking the proxy to connect to \(uri.host) port \(uri.port)"))
    } else {
      switch SocketConnector.resolveOne(uri.host, port: uri.port) {
      case .failure(let error): return .failure(.connectFailed(error.message))
      case .success(let bytes):
        destination = bytes.count == 4 ? .ipv4(bytes) : .ipv6(bytes)
        onProxyTrace?(
          .note("SOCKS5: resolved \(uri.host) here; asking the proxy to connect to it, port \(uri.port)"))
      }
    }
    var hs: Socks5Handshake
    do throws(ProxyError) {
      hs = try Socks5Handshake(
        destination: destination, port: uri.port, user: proxy.user, password: proxy.password)
    } catch {
      return .failure(.proxy(error.description))
    }
    if let e = sendAll(socket, hs.greeting(), deadline) { return .failure(e) }
    // SOCKS5 replies are short (at most 262 bytes); bytes read past one are the leftover.
    var buffer = [UInt8](repeating: 0, count: 512)
    while true {
      switch readSome(socket, &buffer, deadline) {
      case .failure(let e): return .failure(e)
      case .success(let n):
        switch Self.feed(buffer, n, { (bytes) throws(ProxyError) in try hs.receive(bytes) }) {
        case .failure(let error): return .failure(.proxy(error.description))
        case .success(nil): continue
        case .success(.send(let bytes)?):
          if let e = sendAll(socket, bytes, deadline) { return .failure(e) }
        case .success(.established(let leftover)?):
          onProxyTrace?(.note("SOCKS5: tunnel open"))
          return .success(leftover)
        }
      }
    }
  }

  /// The first `n` bytes of `buffer` fed to a handshake, its typed error kept.
  private static func feed<T>(
    _ buffer: [UInt8], _ n: Int, _ receive: (UnsafeRawBufferPointer) throws(ProxyError) -> T
  ) -> Result<T, ProxyError> {
    buffer.withUnsafeBytes { raw in
      do throws(ProxyError) {
        return .success(try receive(UnsafeRawBufferPointer(rebasing: raw[..<n])))
      } catch {
        return .failure(error)
      }
    }
  }

  private func sendAll(_ socket: Transport, _ bytes: [UInt8], _ deadline: Double)
    -> WebSocketClientError?
  {
    var written = 0
    while written < bytes.count {
      let r = bytes.withUnsafeBytes { socket.write(UnsafeRawBufferPointer(rebasing: $0[written...])) }
      switch r {
      case .done(let n): written += n
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(socket, write: wantsWrite, deadline: deadline) { return proxyPhase(e) }
      case .eof: return .proxy("the proxy closed the connection")
      case .failed(let s): return .proxy("the connection to the proxy failed: \(s)")
      }
    }
    return nil
  }

  private func readSome(_ socket: Transport, _ buffer: inout [UInt8], _ deadline: Double) -> Result<
    Int, WebSocketClientError
  > {
    while true {
      let r = buffer.withUnsafeMutableBytes { socket.read($0) }
      switch r {
      case .done(let n): return .success(n)
      case .wouldBlock(let wantsWrite):
        if let e = waitFor(socket, write: wantsWrite, deadline: deadline) { return .failure(proxyPhase(e)) }
      case .eof: return .failure(.proxy("the proxy closed the connection before the tunnel was open"))
      case .failed(let s): return .failure(.proxy("the connection to the proxy failed: \(s)"))
      }
    }
  }

  /// A timeout while talking to the proxy says so.
  private func proxyPhase(_ e: WebSocketClientError) -> WebSocketClientError {
    if case .timeout = e { return .timeout("while the proxy opened the tunnel") }
    return e
  }
}
