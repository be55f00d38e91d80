#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The outcome of one non-blocking read or write.
enum IOResult {
  case done(Int)
  /// Nothing can move now; poll for readability (`wantsWrite` false) or writability.
  case wouldBlock(wantsWrite: Bool)
  case eof
  case failed(String)
}

/// A byte stream the I/O thread drives with `poll()`: plain TCP or Unix socket today,
/// TLS later, behind the same interface. All calls happen on the I/O thread.
protocol Transport: AnyObject {
  var fileDescriptor: Int32 { get }
  func read(_ buffer: UnsafeMutableRawBufferPointer) -> IOResult
  func write(_ buffer: UnsafeRawBufferPointer) -> IOResult
  /// Input already read from the socket but not yet returned (TLS records), which `poll()`
  /// cannot report.
  var hasBufferedInput: Bool { get }
  /// Ends our direction of the stream (TLS close_notify, then a TCP FIN); reading goes on.
  func shutdownWrite()
  /// Closes the socket.
  func close()
}

/// Text for an errno value, from the C library.
func errnoText(_ code: Int32) -> String {
  String(cString: strerror(code))
}

/// A connected, non-blocking stream socket.
final class SocketTransport: Transport {
  let fileDescriptor: Int32
  private var closed = false

  init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

  var hasBufferedInput: Bool { false }

  deinit { close() }

  func read(_ buffer: UnsafeMutableRawBufferPointer) -> IOResult {
    while true {
      let n = recv(fileDescriptor, buffer.baseAddress, buffer.count, 0)
      if n > 0 { return .done(n) }
      if n == 0 { return .eof }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: return .wouldBlock(wantsWrite: false)
      default: return .failed(errnoText(errno))
      }
    }
  }

  func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
    while true {
      #if os(Linux)
        let n = send(fileDescriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
      #else
        let n = send(fileDescriptor, buffer.baseAddress, buffer.count, 0)
      #endif
      if n >= 0 { return .done(n) }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: return .wouldBlock(wantsWrite: true)
      default: return .failed(errnoText(errno))
      }
    }
  }

  func shutdownWrite() {
    guard !closed else { return }
    _ = shutdown(fileDescriptor, Int32(SHUT_WR))
  }

  func close() {
    guard !closed else { return }
    closed = true
    _ = Glibc.close(fileDescriptor)
  }

  /// Hands the socket on (to TLS, after a proxy tunnel) without closing it.
  func detach() -> Int32 {
    closed = true
    return fileDescriptor
  }
}

/// Opens TCP or Unix-socket connections: every resolved address is tried in turn, each
/// within what is left of the overall deadline (RFC 6455 §4.1 step 4; CHECKLIST B2, B3).
enum SocketConnector {
  struct Failure: Error {
    var message: String
    var timedOut: Bool
  }

  static func connect(host: String, port: Int, deadline: Double, cancelled: () -> Bool) throws(Failure)
    -> Int32
  {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_ADDRCONFIG
    var list: UnsafeMutablePointer<addrinfo>? = nil
    let rc = getaddrinfo(host, String(port), &hints, &list)
    if rc != 0 {
      // AI_ADDRCONFIG hides ::1 and 127.0.0.1 on a host without other interfaces; retry without it.
      hints.ai_flags = 0
      let rc2 = getaddrinfo(host, String(port), &hints, &list)
      if rc2 != 0 {
        let text = rc2 == EAI_SYSTEM ? errnoText(errno) : String(cString: gai_strerror(rc2))
        throw Failure(message: "could not resolve \(host): \(text)", timedOut: false)
      }
    }
    defer { freeaddrinfo(list) }
    var candidates: [Candidate] = []
    var node = list
    while let ai = node {
      node = ai.pointee.ai_next
      var storage = sockaddr_storage()
      withUnsafeMutableBytes(of: &storage) { raw in
        raw.copyMemory(
          from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
      }
      candidates.append(
        Candidate(
          family: ai.pointee.ai_family, type: ai.pointee.ai_socktype, proto: ai.pointee.ai_protocol,
          address: storage, length: ai.pointee.ai_addrlen,
          text: describeAddress(sa: ai.pointee.ai_addr, ai.pointee.ai_addrlen)))
    }
    return try race(interleaved(candidates), host: host, port: port, deadline: deadline, cancelled: cancelled)
  }

  /// One resolved address.
  struct Candidate {
    var family: Int32
    var type: Int32
    var proto: Int32
    var address: sockaddr_storage
    var length: socklen_t
    var text: String
  }

  /// RFC 8305 §4: alternate the address families, starting with the one the resolver put
  /// first (getaddrinfo already sorts by RFC 6724 preference).
  static func interleaved(_ list: [Candidate]) -> [Candidate] {
    guard let first = list.first?.family else { return [] }
    let preferred = list.filter { $0.family == first }
    let others = list.filter { $0.family != first }
    var out: [Candidate] = []
    for i in 0..<max(preferred.count, others.count) {
      if i < preferred.count { out.append(preferred[i]) }
      if i < others.count { out.append(others[i]) }
    }
    return out
  }

  /// RFC 8305 §5 ("Happy Eyeballs v2"): start the next attempt when the previous one has
  /// failed or has had 250 ms (the Connection Attempt Delay) without an answer, keep every
  /// started attempt going, and take the first that connects; the rest are closed. All of
  /// it inside `deadline`.
  static func race(
    _ candidates: [Candidate], host: String, port: Int, deadline: Double, cancelled: () -> Bool
  ) throws(Failure) -> Int32 {
    let attemptDelay = 0.25
    var pending: [(fd: Int32, index: Int)] = []
    var errors: [String] = []
    var next = 0
    var nextStart = MonotonicClock.now()
    defer { for p in pending { _ = Glibc.close(p.fd) } }
    while next < candidates.count || !pending.isEmpty {
      if cancelled() { break }
      let now = MonotonicClock.now()
      if now >= deadline {
        let last = pending.last.map { candidates[$0.index].text } ?? host
        throw Failure(message: "connecting to \(last)", timedOut: true)
      }
      // Start the next attempt when it is due, or at once when none is in flight.
      if next < candidates.count && (pending.isEmpty || now >= nextStart) {
        let c = candidates[next]
        next += 1
        nextStart = now + attemptDelay
        let fd = socket(c.family, c.type | Int32(SOCK_CLOEXEC.rawValue), c.proto)
        guard fd >= 0 else {
          errors.append("\(c.text): \(errnoText(errno))")
          continue
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = c.address
        let rc = withUnsafePointer(to: &address) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, c.length) }
        }
        if rc == 0 { return finish(fd, c) }
        guard errno == EINPROGRESS || errno == EINTR else {
          errors.append("\(c.text): \(errnoText(errno))")
          _ = Glibc.close(fd)
          continue
        }
        pending.append((fd, next - 1))
      }
      var fds = pending.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
      var wait = deadline - now
      if next < candidates.count { wait = min(wait, max(0, nextStart - now)) }
      let r = poll(&fds, nfds_t(fds.count), Int32((min(wait, 1) * 1000).rounded(.up)))
      if r < 0 && errno == EINTR { continue }
      if r <= 0 { continue }
      var still: [(fd: Int32, index: Int)] = []
      for (i, p) in pending.enumerated() {
        guard fds[i].revents != 0 else {
          still.append(p)
          continue
        }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err == 0 {
          pending = still + pending[(i + 1)...]
          return finish(p.fd, candidates[p.index])
        }
        errors.append("\(candidates[p.index].text): \(errnoText(err))")
        _ = Glibc.close(p.fd)
        // A failure lets the next attempt start now (RFC 8305 §5).
        nextStart = MonotonicClock.now()
      }
      pending = still
    }
    throw Failure(
      message:
        "could not connect to \(host) port \(port): \(errors.isEmpty ? "no address" : errors.joined(separator: "; "))",
      timedOut: false)
  }

  private static func finish(_ fd: Int32, _ c: Candidate) -> Int32 {
    var one: Int32 = 1
    if c.family == AF_INET || c.family == AF_INET6 {
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
    return fd
  }

  /// The first address `host` resolves to, as 4 or 16 bytes (for a SOCKS5 proxy that is
  /// given an address, `socks5://`).
  static func resolveOne(_ host: String, port: Int) -> Result<[UInt8], Failure> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>? = nil
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let first = list else {
      let text = rc == EAI_SYSTEM ? errnoText(errno) : String(cString: gai_strerror(rc))
      return .failure(Failure(message: "could not resolve \(host): \(text)", timedOut: false))
    }
    defer { freeaddrinfo(list) }
    let ai = first.pointee
    if ai.ai_family == AF_INET6 {
      return .success(
        ai.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sa in
          withUnsafeBytes(of: sa.pointee.sin6_addr) { Array($0) }
        })
    }
    return .success(
      ai.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sa in
        withUnsafeBytes(of: sa.pointee.sin_addr) { Array($0) }
      })
  }

  static func connectUnix(path: String, deadline: Double) throws(Failure) -> Int32 {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: addr.sun_path)
    guard bytes.count < capacity else {
      throw Failure(message: "socket path too long: \(path)", timedOut: false)
    }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw Failure(message: errnoText(errno), timedOut: false) }
    do throws(Failure) {
      try withUnsafePointer(to: &addr) { (p) throws(Failure) in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(Failure) in
          try connectSocket(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size), deadline: deadline)
        }
      }
    } catch {
      _ = Glibc.close(fd)
      throw Failure(message: "could not connect to \(path): \(error.message)", timedOut: error.timedOut)
    }
    return fd
  }

  private static func connectSocket(
    _ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t, deadline: Double
  ) throws(Failure) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    if Glibc.connect(fd, addr, len) == 0 { return }
    guard errno == EINPROGRESS || errno == EINTR else {
      throw Failure(message: errnoText(errno), timedOut: false)
    }
    while true {
      let remaining = deadline - MonotonicClock.now()
      if remaining <= 0 { throw Failure(message: "", timedOut: true) }
      var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
      let r = poll(&pfd, 1, Int32(min(remaining * 1000, 1000).rounded(.up)))
      if r < 0 && errno == EINTR { continue }
      if r <= 0 { continue }
      var err: Int32 = 0
      var len = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
      if err == 0 { return }
      throw Failure(message: errnoText(err), timedOut: false)
    }
  }

}

/// The numeric host and port of a socket address; nil when it has no numeric form.
func numericAddress(_ sa: UnsafePointer<sockaddr>, _ len: socklen_t) -> (host: String, port: Int)? {
  var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
  var serv = [CChar](repeating: 0, count: Int(NI_MAXSERV))
  guard
    getnameinfo(
      sa, len, &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
      == 0
  else { return nil }
  let h = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let s = String(decoding: serv.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  return (h, Int(s) ?? 0)
}

/// "host:port" for messages, an IPv6 host in brackets; "?" without a numeric form.
func describeAddress(sa: UnsafePointer<sockaddr>?, _ len: socklen_t) -> String {
  guard let sa, let (h, p) = numericAddress(sa, len) else { return "?" }
  return sa.pointee.sa_family == sa_family_t(AF_INET6) ? "[\(h)]:\(p)" : "\(h):\(p)"
}
