import COpenSSL

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// TLS settings for wss:// (DESIGN.md §6).
public struct TLSOptions: Sendable {
  /// Verify the server's certificate chain and name. Off only with `--no-check`.
  public var verifyPeer: Bool
  /// Trust only this CA file instead of the system store (`SSL_CERT_FILE`/`SSL_CERT_DIR`).
  public var caFile: String?
  /// Client certificate chain (PEM) and its private key, for servers that ask for one.
  public var certificateFile: String?
  public var keyFile: String?
  /// Unlocks an encrypted private key.
  public var passphrase: String?
  /// Where the session secrets go (`--sslkeylogfile`, `SSLKEYLOGFILE`); nil: nowhere.
  public var keyLog: TLSKeyLog?

  public init(
    verifyPeer: Bool = true, caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
    passphrase: String? = nil, keyLog: TLSKeyLog? = nil
  ) {
    self.verifyPeer = verifyPeer
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
    self.passphrase = passphrase
    self.keyLog = keyLog
  }
}

/// What `-v` shows about the TLS session.
public struct TLSSessionInfo: Sendable {
  public var version: String
  public var cipher: String
  public var alpn: String?
  public var peerSubject: String?
  public var peerIssuer: String?
}

/// A TLS client stream over a connected non-blocking socket, with OpenSSL.
///
/// Thread rules (DESIGN.md §2): the I/O thread makes every call on this object, so one
/// `SSL*` is never used by two threads; the error queue is cleared before each I/O call and
/// `SSL_get_error` is read right after it, on the same thread. The socket stays
/// non-blocking and the caller waits in `poll()`, so a read never holds up a write.
final class TLSTransport: Transport {
  let fileDescriptor: Int32
  private let context: OpaquePointer
  private let ssl: OpaquePointer
  /// Listen mode: the peer is a client, and failures are explained from the server's side.
  private let isServer: Bool
  private var closed = false
  /// True once the peer's close_notify arrived or the stream broke: no shutdown to send.
  private var broken = false
  /// Set to 1 by OpenSSL's client-certificate callback (through the session's app data)
  /// when the server asked for a certificate and we have none: the likely reason for the
  /// alert or silent close that follows (issue 20).
  private let certificateRequested = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

  /// Prepares the session: trust store, client certificate, SNI, host or IP check, TLS 1.2
  /// minimum and ALPN `http/1.1` (RFC 6455 §4.1 step 5; curl forces HTTP/1.1 for ws too).
  init(fileDescriptor: Int32, host: String, isIPLiteral: Bool, options: TLSOptions)
    throws(WebSocketClientError)
  {
    guard let context = SSL_CTX_new(TLS_client_method()) else {
      throw .tls("cannot create a TLS context: \(TLSTransport.errorQueueText() ?? "unknown error")")
    }
    // The context is configured before SSL_new: the session copies its verify mode then.
    do throws(WebSocketClientError) {
      try Self.configure(context, options: options)
    } catch {
      SSL_CTX_free(context)
      throw error
    }
    guard let ssl = SSL_new(context) else {
      SSL_CTX_free(context)
      throw .tls("cannot create a TLS session: \(TLSTransport.errorQueueText() ?? "unknown error")")
    }
    self.fileDescriptor = fileDescriptor
    self.context = context
    self.ssl = ssl
    self.isServer = false
    certificateRequested.initialize(to: 0)
    _ = SSL_set_ex_data(ssl, 0, certificateRequested)
    try configureSession(host: host, isIPLiteral: isIPLiteral, verify: options.verifyPeer)
  }

  /// A server-side session (listen mode with --cert/--key) on an accepted socket.
  init(acceptingOn fileDescriptor: Int32, context server: TLSServerContext) throws(WebSocketClientError) {
    guard let ssl = SSL_new(server.context) else {
      throw .tls("cannot create a TLS session: \(TLSTransport.errorQueueText() ?? "unknown error")")
    }
    // The session holds its own reference; deinit frees ours.
    SSL_CTX_up_ref(server.context)
    self.fileDescriptor = fileDescriptor
    self.context = server.context
    self.ssl = ssl
    self.isServer = true
    certificateRequested.initialize(to: 0)
    guard SSL_set_fd(ssl, fileDescriptor) == 1 else { throw .tls("cannot attach the socket to TLS") }
    SSL_set_accept_state(ssl)
  }

  deinit {
    close()
    SSL_free(ssl)
    SSL_CTX_free(context)
    certificateRequested.deallocate()
  }

  /// Runs the server side of the TLS handshake, like `handshake(wait:)`.
  func accept(wait: (Bool) -> WebSocketClientError?) -> WebSocketClientError? {
    drive({ SSL_accept(ssl) }, wait: wait)
  }

  private static func configure(_ context: OpaquePointer, options: TLSOptions) throws(WebSocketClientError) {
    ERR_clear_error()
    _ = wsc_SSL_CTX_set_min_proto_version(context, wsc_TLS1_2_VERSION())
    if options.verifyPeer {
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
      if let ca = options.caFile {
        guard SSL_CTX_load_verify_locations(context, ca, nil) == 1 else {
          throw .tls("cannot load the CA file \(ca): \(Self.errorQueueText() ?? "unreadable")")
        }
      } else {
        // The system store; OpenSSL honours SSL_CERT_FILE and SSL_CERT_DIR here.
        SSL_CTX_set_default_verify_paths(context)
      }
    } else {
      SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
    }
    try options.keyLog?.attach(to: context)
    if let cert = options.certificateFile {
      guard SSL_CTX_use_certificate_chain_file(context, cert) == 1 else {
        throw .tls("cannot load the client certificate \(cert): \(Self.errorQueueText() ?? "unreadable")")
      }
    }
    // Without --key the key is looked for in the certificate file (a combined PEM).
    if let key = options.keyFile ?? options.certificateFile {
      try loadKey(key, into: context, passphrase: options.passphrase)
    } else {
      // Called only when the server sends a CertificateRequest and no certificate is set:
      // note it, and go on without one (the server decides whether that is fatal).
      SSL_CTX_set_client_cert_cb(context) { ssl, _, _ in
        SSL_get_ex_data(ssl, 0)?.assumingMemoryBound(to: Int32.self).pointee = 1
        return 0
      }
    }
  }

  private func configureSession(host: String, isIPLiteral: Bool, verify: Bool) throws(WebSocketClientError) {
    guard SSL_set_fd(ssl, fileDescriptor) == 1 else { throw .tls("cannot attach the socket to TLS") }
    if isIPLiteral {
      // RFC 6066 §3: no SNI for IP literals; check the certificate's IP SAN instead.
      if verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 {
        throw .tls("cannot check the certificate against \(host)")
      }
    } else {
      _ = wsc_SSL_set_tlsext_host_name(ssl, host)
      if verify && SSL_set1_host(ssl, host) != 1 {
        throw .tls("cannot check the certificate against \(host)")
      }
    }
    // ALPN: only http/1.1 (WebSocket over h2, RFC 8441, is not implemented). 0 means success.
    let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
    guard SSL_set_alpn_protos(ssl, alpn, UInt32(alpn.count)) == 0 else { throw .tls("cannot set ALPN") }
  }

  static func loadKey(
    _ path: String, into context: OpaquePointer, passphrase: String?
  ) throws(WebSocketClientError) {
    // The callback hands OpenSSL the passphrase (or nothing, so an encrypted key fails with
    // a clear error instead of OpenSSL prompting on its own).
    let secret = strdup(passphrase ?? "")
    defer {
      if let secret {
        memset(secret, 0, strlen(secret))
        free(secret)
      }
    }
    SSL_CTX_set_default_passwd_cb_userdata(context, passphrase == nil ? nil : UnsafeMutableRawPointer(secret))
    SSL_CTX_set_default_passwd_cb(context) { buffer, size, _, userdata in
      guard let buffer, let userdata else { return 0 }
      let text = userdata.assumingMemoryBound(to: CChar.self)
      let n = min(Int(strlen(text)), Int(size) - 1)
      memcpy(buffer, text, n)
      return Int32(n)
    }
    defer {
      SSL_CTX_set_default_passwd_cb_userdata(context, nil)
      SSL_CTX_set_default_passwd_cb(context, nil)
    }
    guard SSL_CTX_use_PrivateKey_file(context, path, SSL_FILETYPE_PEM) == 1 else {
      let reason = Self.errorQueueText() ?? "unreadable"
      let hint = passphrase == nil ? " (is it encrypted? give --passphrase)" : " (wrong passphrase?)"
      throw .tls("cannot load the private key \(path): \(reason)\(reason.contains("decrypt") ? hint : "")")
    }
    guard SSL_CTX_check_private_key(context) == 1 else {
      throw .tls("the private key \(path) does not match the certificate")
    }
  }

  /// Runs the TLS handshake. `wait` polls the socket for reading or writing (true) within the
  /// caller's deadline and returns an error on timeout or abort.
  func handshake(wait: (Bool) -> WebSocketClientError?) -> WebSocketClientError? {
    drive({ SSL_connect(ssl) }, wait: wait)
  }

  /// Repeats one handshake step (SSL_connect or SSL_accept) until it completes, waiting in
  /// `poll()` whenever OpenSSL needs the socket readable or writable; never spins (C11).
  private func drive(_ step: () -> Int32, wait: (Bool) -> WebSocketClientError?) -> WebSocketClientError? {
    while true {
      ERR_clear_error()
      let r = step()
      if r == 1 { return nil }
      let code = SSL_get_error(ssl, r)
      switch code {
      case SSL_ERROR_WANT_READ:
        if let e = wait(false) { return e }
      case SSL_ERROR_WANT_WRITE:
        if let e = wait(true) { return e }
      default:
        broken = true
        // A client that connects and leaves without a byte (a port check) has not failed TLS.
        if isServer && nothingRead && Self.pendingErrorIsEOF() {
          return .connectionLost("the client closed the connection before the TLS handshake")
        }
        return .tls(handshakeFailure(code))
      }
    }
  }

  /// The server asked for a client certificate and wsc had none to give.
  var certificateWasRequested: Bool { certificateRequested.pointee != 0 }

  /// Names the likely cause of a TLS failure (issue 20): a server that wanted a client
  /// certificate, or a peer that is not a TLS server at all.
  func explain(_ reason: String?) -> String {
    if certificateWasRequested {
      return "the server requires a client certificate: use --cert and --key"
        + (reason.map { " (\($0))" } ?? " (it closed the connection)")
    }
    let reason = reason ?? "the server closed the connection during the TLS handshake"
    // Not one byte came back for our ClientHello: a plain ws:// or HTTP server reads it as
    // a garbled request and hangs up.
    if nothingRead {
      return "\(reason): the server closed the connection without answering the TLS handshake"
        + " (not a TLS server? try ws://)"
    }
    return reason
  }

  /// No error queued, or only OpenSSL 3's "unexpected eof while reading": the peer hung up.
  private static func pendingErrorIsEOF() -> Bool {
    let pending = ERR_peek_error()
    guard pending != 0 else { return true }
    return ERR_reason_error_string(pending).map { String(cString: $0).contains("unexpected eof") } ?? false
  }

  /// Not one byte has come from the peer.
  private var nothingRead: Bool { SSL_get_rbio(ssl).map { BIO_number_read($0) == 0 } ?? false }

  private func handshakeFailure(_ code: Int32) -> String {
    if isServer { return clientHandshakeFailure(code) }
    let verify = SSL_get_verify_result(ssl)
    if verify != X509_V_OK {
      return "certificate verification failed: \(String(cString: X509_verify_cert_error_string(verify)))"
    }
    if certificateWasRequested || nothingRead {
      return explain(Self.errorQueueText())
    }
    if let reason = Self.errorQueueText() {
      let notTLS = ["wrong version number", "packet length too long", "unknown protocol", "http request"]
      if notTLS.contains(where: { reason.contains($0) }) {
        return "\(reason) (not a TLS server?)"
      }
      if reason.contains("protocol version") || reason.contains("unsupported protocol") {
        return "unsupported protocol: the server does not offer TLS 1.2 or later (\(reason))"
      }
      return reason
    }
    if code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN {
      let e = errno
      return e != 0 && code == SSL_ERROR_SYSCALL
        ? "connection failed during the TLS handshake: \(errnoText(e))"
        : "the server closed the connection during the TLS handshake"
    }
    return "TLS handshake failed (SSL error \(code))"
  }

  /// A failed handshake with a client (listen mode), with the likely cause (issue 19).
  private func clientHandshakeFailure(_ code: Int32) -> String {
    if let reason = Self.errorQueueText() {
      let notTLS = ["wrong version number", "packet length too long", "unknown protocol", "http request"]
      if notTLS.contains(where: { reason.contains($0) }) {
        return "\(reason) (a plain HTTP or ws:// client on this wss:// port?)"
      }
      let distrust = ["unknown ca", "bad certificate", "certificate unknown", "unsupported certificate"]
      if distrust.contains(where: { reason.contains($0) }) {
        return "\(reason): the client does not trust this certificate (its CA is not installed there,"
          + " or the name does not match)"
      }
      if reason.contains("protocol version") || reason.contains("unsupported protocol") {
        return "the client offers no TLS 1.2 or later (\(reason))"
      }
      return reason
    }
    if code == SSL_ERROR_SYSCALL, errno != 0 {
      return "connection failed during the TLS handshake: \(errnoText(errno))"
    }
    return "the client closed the connection during the TLS handshake"
  }

  /// The negotiated session, for `-v`.
  var sessionInfo: TLSSessionInfo {
    var info = TLSSessionInfo(
      version: String(cString: SSL_get_version(ssl)),
      cipher: SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "?")
    var data: UnsafePointer<UInt8>? = nil
    var length: UInt32 = 0
    SSL_get0_alpn_selected(ssl, &data, &length)
    if let data, length > 0 {
      info.alpn = String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }
    if let cert = SSL_get1_peer_certificate(ssl) {
      info.peerSubject = Self.nameText(X509_get_subject_name(cert))
      info.peerIssuer = Self.nameText(X509_get_issuer_name(cert))
      X509_free(cert)
    }
    return info
  }

  private static func nameText(_ name: OpaquePointer?) -> String? {
    guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return nil }
    defer { wsc_OPENSSL_free(text) }
    return String(cString: text)
  }

  /// Pops the OpenSSL error queue and returns the reason of its first entry, in words.
  static func errorQueueText() -> String? {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return nil }
    if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Bytes OpenSSL has already decrypted but not yet returned: `poll()` cannot see them.
  var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

  func read(_ buffer: UnsafeMutableRawBufferPointer) -> IOResult {
    ERR_clear_error()
    let n = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
    if n > 0 { return .done(Int(n)) }
    return outcome(SSL_get_error(ssl, n), reading: true)
  }

  func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
    guard buffer.count > 0 else { return .done(0) }
    ERR_clear_error()
    let n = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
    if n > 0 { return .done(Int(n)) }
    return outcome(SSL_get_error(ssl, n), reading: false)
  }

  private func outcome(_ code: Int32, reading: Bool) -> IOResult {
    switch code {
    case SSL_ERROR_WANT_READ: return .wouldBlock(wantsWrite: false)
    case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantsWrite: true)
    case SSL_ERROR_ZERO_RETURN:
      // close_notify: a clean end of the TLS stream.
      broken = true
      return .eof
    case SSL_ERROR_SYSCALL:
      broken = true
      let e = errno
      let reason = Self.errorQueueText()
      if reading && e == 0 && reason == nil {
        // EOF without close_notify: the WebSocket layer decides whether it is abnormal (C9).
        return .eof
      }
      return .failed(reason ?? (e != 0 ? errnoText(e) : "the TLS connection ended unexpectedly"))
    default:
      broken = true
      return .failed(Self.errorQueueText() ?? "SSL error \(code)")
    }
  }

  func shutdownWrite() {
    guard !closed else { return }
    if !broken {
      ERR_clear_error()
      _ = SSL_shutdown(ssl)
      ERR_clear_error()
      broken = true
    }
    _ = shutdown(fileDescriptor, Int32(SHUT_WR))
  }

  func close() {
    guard !closed else { return }
    closed = true
    if !broken {
      // Best effort close_notify; the socket is non-blocking, so this never waits.
      ERR_clear_error()
      _ = SSL_shutdown(ssl)
      ERR_clear_error()
    }
    _ = Glibc.close(fileDescriptor)
  }
}

/// The OpenSSL in use, as it names itself ("OpenSSL 3.0.17 1 Jul 2025"), for `--version`.
public func openSSLVersion() -> String {
  String(cString: OpenSSL_version(OPENSSL_VERSION))
}

/// The certificate and key a TLS server presents (listen mode with `--cert`/`--key`).
public struct TLSServerOptions: Sendable {
  public var certificateFile: String
  /// The private key; nil when it is in `certificateFile` too.
  public var keyFile: String?
  public var passphrase: String?
  /// Where the secrets of every client's session go (`--sslkeylogfile`); nil: nowhere.
  public var keyLog: TLSKeyLog?

  public init(
    certificateFile: String, keyFile: String? = nil, passphrase: String? = nil, keyLog: TLSKeyLog? = nil
  ) {
    self.certificateFile = certificateFile
    self.keyFile = keyFile
    self.passphrase = passphrase
    self.keyLog = keyLog
  }
}

/// One OpenSSL server context shared by every accepted connection (TLS 1.2 minimum).
final class TLSServerContext: @unchecked Sendable {
  let context: OpaquePointer

  init(options: TLSServerOptions) throws(WebSocketClientError) {
    ERR_clear_error()
    guard let context = SSL_CTX_new(TLS_server_method()) else {
      throw .tls("cannot create a TLS context: \(TLSTransport.errorQueueText() ?? "unknown error")")
    }
    self.context = context
    _ = wsc_SSL_CTX_set_min_proto_version(context, wsc_TLS1_2_VERSION())
    guard SSL_CTX_use_certificate_chain_file(context, options.certificateFile) == 1 else {
      throw .tls(
        "cannot load the certificate \(options.certificateFile): \(TLSTransport.errorQueueText() ?? "unreadable")"
      )
    }
    try TLSTransport.loadKey(
      options.keyFile ?? options.certificateFile, into: context, passphrase: options.passphrase)
    try options.keyLog?.attach(to: context)
  }

  deinit { SSL_CTX_free(context) }
}
