#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Sizing of a socket's kernel receive buffer for large messages (DESIGN.md §3).
///
/// A message is printed only once it is whole, so while a multi-megabyte message is being
/// written to stdout, the next one can only wait in the kernel's receive buffer. Linux
/// autotunes that buffer from how fast the application has been reading, and on loopback it
/// settles near 2 MB: smaller than one 4 MiB message, so the sender stalls during every
/// write and receiving and printing take turns. Asking for room for one more message lets
/// them overlap (B3 in Docs/Performance.md). Reading ahead into our own memory instead was
/// tried: it costs a copy of each message that the kernel buffer does not.
///
/// Setting `SO_RCVBUF` turns autotuning off for the socket, and the kernel caps the request
/// at `net.core.rmem_max` (208 KiB on a stock system, far below what autotuning reaches).
/// So the buffer is changed only when the cap grants all that is asked for and that is more
/// than the socket has now; otherwise the socket keeps autotuning. On a stock system that
/// means never: the gain needs an administrator who raised `rmem_max` (as on the benchmark
/// machine, 4 MiB).
enum ReceiveBuffer {
  /// Messages at least this large ask for a receive buffer that holds the next one.
  static let threshold = 1 << 20
  /// The most we ask for (the kernel doubles it for its bookkeeping).
  static let largest = 16 << 20

  /// `net.core.rmem_max`, or nil where it cannot be read (not Linux).
  static let systemMaximum: Int? = {
    let fd = open("/proc/sys/net/core/rmem_max", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { _ = close(fd) }
    var bytes = [UInt8](repeating: 0, count: 32)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0, let text = String(validating: bytes[..<n], as: UTF8.self) else { return nil }
    guard let value = Int(text.trimmingPrefix(" ").prefix { $0 != "\n" }), value > 0 else { return nil }
    return value
  }()

  /// Raises the receive buffer of `fd` so that `bytes` more (at most `largest`) can wait in
  /// it, if the system maximum `cap` grants that much and the socket has less. Returns
  /// whether it changed the buffer.
  @discardableResult
  static func grow(_ fd: Int32, toHold bytes: Int, cap: Int? = systemMaximum) -> Bool {
    guard let cap, bytes >= threshold else { return false }
    let wanted = min(bytes, largest)
    guard cap >= wanted else { return false }
    var current: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &length) == 0 else { return false }
    // Linux doubles the request (half is bookkeeping) and reports the doubled size.
    guard 2 * wanted > Int(current) else { return false }
    var value = Int32(wanted)
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
  }
}
