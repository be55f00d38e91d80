#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Carries a connection through an `https://` proxy: TLS to the proxy on one side, one end
/// of a socket pair on the other, pumped by a thread of its own.
///
/// The WebSocket connection then runs on the pair's other end exactly as on a TCP socket,
/// with its own TLS (wss:// inside the proxy's TLS) or without, and with the same poll()
/// loop: nothing above the socket needs to know that the bytes cross two TLS layers.
/// Memory is bounded (256 KiB buffered each way; a full buffer stops reading that side,
/// so TCP pushes back). A half-close is passed on in both directions; the thread ends,
/// and closes both, once both directions have ended or either side fails.
final class ProxyRelay: @unchecked Sendable {
  private let tls: TLSTransport
  private let pairFD: Int32
  private static let limit = 256 * 1024

  private init(tls: TLSTransport, pairFD: Int32) {
    self.tls = tls
    self.pairFD = pairFD
  }

  /// Starts the relay; returns the socket the connection uses, or nil with errno set.
  static func start(over tls: TLSTransport) -> Int32? {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return nil }
    for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    let relay = ProxyRelay(tls: tls, pairFD: fds[0])
    if startThread({ relay.run() }) != nil {
      for fd in fds { _ = Glibc.close(fd) }
      errno = EAGAIN
      return nil
    }
    return fds[1]
  }

  private func run() {
    defer {
      tls.close()
      _ = Glibc.close(pairFD)
    }
    var toPair: [UInt8] = []
    var toProxy: [UInt8] = []
    var proxyEnded = false  // no more bytes will come from the proxy
    var pairEnded = false  // no more bytes will come from the connection
    var proxyShut = false
    var pairShut = false
    var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    var tlsWantsWrite = false
    while true {
      // From the proxy (TLS) to the connection.
      while !proxyEnded && toPair.count < Self.limit {
        let r = scratch.withUnsafeMutableBytes { tls.read($0) }
        switch r {
        case .done(let n): toPair.append(contentsOf: scratch[..<n])
        case .wouldBlock(let w):
          tlsWantsWrite = w
        case .eof, .failed: proxyEnded = true
        }
        if case .wouldBlock = r { break }
      }
      if !toPair.isEmpty {
        let n = toPair.withUnsafeBytes { send(pairFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n > 0 {
          toPair.removeFirst(n)
        } else if n < 0 && errno != EAGAIN && errno != EINTR {
          return
        }
      }
      if proxyEnded && toPair.isEmpty && !pairShut {
        _ = shutdown(pairFD, Int32(SHUT_WR))
        pairShut = true
      }
      // From the connection to the proxy.
      while !pairEnded && toProxy.count < Self.limit {
        let n = scratch.withUnsafeMutableBytes { recv(pairFD, $0.baseAddress, $0.count, 0) }
        if n > 0 {
          toProxy.append(contentsOf: scratch[..<n])
        } else if n == 0 {
          pairEnded = true
        } else {
          if errno == EINTR { continue }
          if errno != EAGAIN { pairEnded = true }
          break
        }
      }
      while !toProxy.isEmpty {
        let r = toProxy.withUnsafeBytes { tls.write($0) }
        if case .done(let n) = r {
          toProxy.removeFirst(n)
          continue
        }
        if case .wouldBlock(let w) = r {
          tlsWantsWrite = w
          break
        }
        return  // the proxy connection failed
      }
      if pairEnded && toProxy.isEmpty && !proxyShut {
        tls.shutdownWrite()
        proxyShut = true
      }
      if proxyEnded && pairEnded && toPair.isEmpty && toProxy.isEmpty { return }
      if tls.hasBufferedInput && !proxyEnded && toPair.count < Self.limit { continue }
      var proxyEvents = Int16(0)
      if !proxyEnded && toPair.count < Self.limit { proxyEvents |= Int16(POLLIN) }
      if !toProxy.isEmpty || tlsWantsWrite { proxyEvents |= Int16(POLLOUT) }
      var pairEvents = Int16(0)
      if !pairEnded && toProxy.count < Self.limit { pairEvents |= Int16(POLLIN) }
      if !toPair.isEmpty { pairEvents |= Int16(POLLOUT) }
      // A side with nothing to wait for is left out (fd -1): its POLLHUP would otherwise
      // end every poll() at once and spin.
      var fds = [
        pollfd(fd: proxyEvents == 0 ? -1 : tls.fileDescriptor, events: proxyEvents, revents: 0),
        pollfd(fd: pairEvents == 0 ? -1 : pairFD, events: pairEvents, revents: 0),
      ]
      tlsWantsWrite = false
      _ = poll(&fds, 2, 1000)
    }
  }
}
