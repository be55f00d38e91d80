import Testing

@testable import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The loopback address of `family` with `port`, and its length.
private func loopback(_ family: Int32, port: Int) -> (sockaddr_storage, socklen_t) {
  var storage = sockaddr_storage()
  if family == AF_INET6 {
    var a = sockaddr_in6()
    a.sin6_family = sa_family_t(AF_INET6)
    a.sin6_addr = in6addr_loopback
    a.sin6_port = UInt16(port).bigEndian
    withUnsafeBytes(of: &a) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
    return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
  }
  var a = sockaddr_in()
  a.sin_family = sa_family_t(AF_INET)
  a.sin_addr.s_addr = inet_addr("127.0.0.1")
  a.sin_port = UInt16(port).bigEndian
  withUnsafeBytes(of: &a) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
  return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
}

/// A listening socket on `family`'s loopback (a free port); returns (fd, port).
private func listener(_ family: Int32, backlog: Int32) throws -> (Int32, Int) {
  let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
  try #require(fd >= 0)
  var (storage, length) = loopback(family, port: 0)
  let ok = withUnsafeMutablePointer(to: &storage) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(fd, $0, length) == 0 && listen(fd, backlog) == 0 && getsockname(fd, $0, &length) == 0
    }
  }
  try #require(ok)
  let port = withUnsafeBytes(of: &storage) { raw -> Int in
    Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
  }
  return (fd, port)
}

private func candidate(_ family: Int32, port: Int) -> SocketConnector.Candidate {
  let (storage, length) = loopback(family, port: port)
  return .init(
    family: family, type: Int32(SOCK_STREAM.rawValue), proto: 0, address: storage, length: length,
    text: family == AF_INET6 ? "[::1]:\(port)" : "127.0.0.1:\(port)")
}

private func peerPort(_ fd: Int32) -> Int {
  var storage = sockaddr_storage()
  var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
  _ = withUnsafeMutablePointer(to: &storage) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
  }
  return withUnsafeBytes(of: &storage) { Int(UInt16($0[2]) << 8 | UInt16($0[3])) }
}

@Suite("Connecting to every address, racing as RFC 8305 says (CHECKLIST B3)")
struct HappyEyeballsTests {
  @Test("§4: families alternate, starting with the resolver's first")
  func interleaving() {
    let list = [
      candidate(AF_INET6, port: 1), candidate(AF_INET6, port: 2), candidate(AF_INET6, port: 3),
      candidate(AF_INET, port: 4),
    ]
    #expect(
      SocketConnector.interleaved(list).map(\.text) == ["[::1]:1", "127.0.0.1:4", "[::1]:2", "[::1]:3"])
  }

  @Test("§5: an address that never answers does not hold up the next one")
  func blackholedFirst() throws {
    // A listener whose backlog is full drops SYNs: to the client it is a black hole.
    let (hole, holePort) = try listener(AF_INET6, backlog: 0)
    defer { _ = close(hole) }
    var held: [Int32] = []
    defer { for fd in held { _ = close(fd) } }
    for _ in 0..<4 {
      let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
      var c = candidate(AF_INET6, port: holePort)
      _ = withUnsafePointer(to: &c.address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, c.length) }
      }
      held.append(fd)
    }
    usleep(200_000)
    let (live, livePort) = try listener(AF_INET, backlog: 8)
    defer { _ = close(live) }
    // With a 2 s deadline, trying the black hole first and alone would time out.
    let deadline = MonotonicClock.now() + 2
    let fd = try SocketConnector.race(
      [candidate(AF_INET6, port: holePort), candidate(AF_INET, port: livePort)], host: "test", port: 0,
      deadline: deadline, cancelled: { false })
    defer { _ = close(fd) }
    #expect(peerPort(fd) == livePort)
  }

  @Test("§5: a refused address lets the next start at once; all refused lists each")
  func refused() throws {
    let (closed, closedPort) = try listener(AF_INET, backlog: 1)
    _ = close(closed)  // now refused
    let (live, livePort) = try listener(AF_INET, backlog: 8)
    defer { _ = close(live) }
    let fd = try SocketConnector.race(
      [candidate(AF_INET, port: closedPort), candidate(AF_INET, port: livePort)], host: "test", port: 0,
      deadline: MonotonicClock.now() + 5, cancelled: { false })
    _ = close(fd)
    #expect(throws: SocketConnector.Failure.self) {
      try SocketConnector.race(
        [candidate(AF_INET, port: closedPort), candidate(AF_INET6, port: closedPort)], host: "test", port: 0,
        deadline: MonotonicClock.now() + 5, cancelled: { false })
    }
  }
}
