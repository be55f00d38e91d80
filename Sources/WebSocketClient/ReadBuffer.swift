/// The memory a connection reads the socket into: allocated, never initialized.
///
/// Why not a zero-filled `[UInt8]`: zeroing makes every page of it resident at once, and
/// in listen mode each of thousands of idle clients would hold 256 KiB that way. Memory
/// this large comes straight from `mmap` (glibc's threshold) or from fresh heap, so only
/// the pages a read writes into become resident: an idle client costs a page or two.
/// Nothing reads a byte a read has not written (`ReadPump` passes on only the `n` bytes
/// the transport reported).
final class ReadBuffer {
  let bytes: UnsafeMutableRawBufferPointer

  init(count: Int) {
    bytes = .allocate(byteCount: count, alignment: 16)
  }

  deinit {
    bytes.deallocate()
  }
}
