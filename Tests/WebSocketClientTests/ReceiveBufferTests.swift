import Testing

@testable import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A connected loopback TCP socket (the client end), closed by `body`'s caller.
private func withLoopbackSocket(_ body: (Int32) throws -> Void) throws {
  let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  try #require(listener >= 0)
  defer { _ = close(listener) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  let size = socklen_t(MemoryLayout<sockaddr_in>.size)
  var length = size
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(listener, $0, size) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
    }
  }
  try #require(bound)
  let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  try #require(client >= 0)
  defer { _ = close(client) }
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, size) == 0 }
  }
  try #require(connected)
  try body(client)
}

private func receiveBufferSize(_ fd: Int32) -> Int {
  var value: Int32 = 0
  var length = socklen_t(MemoryLayout<Int32>.size)
  #expect(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &length) == 0)
  return Int(value)
}

/// DESIGN.md §3: the receive buffer grows for large messages only where the system grants
/// the whole request, and never shrinks (which would also end autotuning for nothing).
@Suite struct ReceiveBufferTests {
  @Test func smallMessagesLeaveAutotuningAlone() throws {
    try withLoopbackSocket { fd in
      let before = receiveBufferSize(fd)
      #expect(!ReceiveBuffer.grow(fd, toHold: ReceiveBuffer.threshold - 1, cap: 1 << 30))
      #expect(receiveBufferSize(fd) == before)
    }
  }

  @Test func stockMaximumLeavesAutotuningAlone() throws {
    // Debian's default net.core.rmem_max: granting at most 416 KiB would cap a socket that
    // autotuning can take to megabytes.
    try withLoopbackSocket { fd in
      let before = receiveBufferSize(fd)
      #expect(!ReceiveBuffer.grow(fd, toHold: 4 << 20, cap: 212_992))
      #expect(receiveBufferSize(fd) == before)
    }
  }

  @Test func growsToHoldOneMoreMessageAndNeverShrinks() throws {
    // The real cap decides what the kernel grants, so ask for what it allows (at least the
    // threshold); on a system whose cap is below the threshold, growing is refused.
    let cap = try #require(ReceiveBuffer.systemMaximum)
    let wanted = min(max(cap, ReceiveBuffer.threshold), 2 << 20)
    try withLoopbackSocket { fd in
      let before = receiveBufferSize(fd)
      let grew = ReceiveBuffer.grow(fd, toHold: wanted)
      if cap >= wanted && 2 * wanted > before {
        #expect(grew)
        #expect(receiveBufferSize(fd) == 2 * wanted)
        // A smaller large message later does not shrink it.
        #expect(!ReceiveBuffer.grow(fd, toHold: ReceiveBuffer.threshold))
        #expect(receiveBufferSize(fd) == 2 * wanted)
      } else {
        #expect(!grew)
        #expect(receiveBufferSize(fd) == before)
      }
    }
  }

  @Test func readsTheSystemMaximum() throws {
    #if os(Linux)
      let value = try #require(ReceiveBuffer.systemMaximum)
      #expect(value >= 4096)
    #else
      #expect(ReceiveBuffer.systemMaximum == nil)
    #endif
  }
}
