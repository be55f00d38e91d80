/// Bytes appended at the back and consumed from the front, in one contiguous block: a
/// connection's encoded output, or the stdout buffer of the command-line tool.
///
/// Why not `[UInt8]`: appending a 64-byte message to an array costs about 80
/// instructions of bookkeeping on top of the copy (the generic `append(contentsOf:)`),
/// which was a fifth of sending or printing a small message (issue 17, B2 and B4 in
/// Docs/Performance.md). Here an append is a capacity check and a `memcpy`, and a frame
/// can be encoded straight into the free space (`append(upTo:_:)`), header, payload and
/// mask in one pass. A value type with copy-on-write storage, like an array.
public struct ByteQueue: @unchecked Sendable {
  // @unchecked: the storage is only written through a uniquely referenced copy.
  @usableFromInline final class Storage {
    @usableFromInline let bytes: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int

    @usableFromInline init(capacity: Int) {
      self.capacity = capacity
      bytes = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { bytes.deallocate() }
  }

  /// Owns the block; nil until something is appended.
  @usableFromInline var storage: Storage?
  /// The block's start and size, copied out of `storage` so that an append reads no
  /// class property (and retains nothing).
  @usableFromInline var bytes: UnsafeMutableRawPointer?
  @usableFromInline var storageCapacity = 0
  /// The first unconsumed byte.
  @usableFromInline var head = 0
  /// The end of the bytes.
  @usableFromInline var tail = 0

  /// An empty queue; `capacity` bytes are allocated now when it is not 0.
  public init(capacity: Int = 0) {
    if capacity > 0 { adopt(Storage(capacity: capacity)) }
  }

  @usableFromInline mutating func adopt(_ new: Storage?) {
    storage = new
    bytes = new?.bytes
    storageCapacity = new?.capacity ?? 0
  }

  /// Bytes appended and not yet consumed.
  @inlinable public var count: Int { tail - head }

  @inlinable public var isEmpty: Bool { tail == head }

  /// Bytes the storage holds, free or not.
  @inlinable public var capacity: Int { storageCapacity }

  /// Appends a copy of `bytes`.
  @inlinable
  public mutating func append(_ bytes: UnsafeRawBufferPointer) {
    guard let source = bytes.baseAddress, bytes.count > 0 else { return }
    let n = bytes.count
    (reserveTail(n) + tail).copyMemory(from: source, byteCount: n)
    tail += n
  }

  /// Appends a copy of `bytes`, then `terminator` if there is one: one capacity check for
  /// a printed message and its newline.
  @inlinable
  public mutating func append(_ bytes: UnsafeRawBufferPointer, terminator: UInt8?) {
    let n = bytes.count
    let p = reserveTail(n + 1) + tail
    if let source = bytes.baseAddress, n > 0 { p.copyMemory(from: source, byteCount: n) }
    tail += n
    if let terminator {
      p.storeBytes(of: terminator, toByteOffset: n, as: UInt8.self)
      tail += 1
    }
  }

  /// Appends one byte.
  @inlinable
  public mutating func append(_ byte: UInt8) {
    reserveTail(1).storeBytes(of: byte, toByteOffset: tail, as: UInt8.self)
    tail += 1
  }

  /// Appends the UTF-8 of `string`.
  @inlinable
  public mutating func append(_ string: String) {
    var string = string
    string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
  }

  /// Lends `initialize` room for `maximum` bytes at the back; it writes them from the
  /// start and returns how many it wrote (at most `maximum`), which are appended.
  @inlinable
  public mutating func append(upTo maximum: Int, _ initialize: (UnsafeMutableRawBufferPointer) -> Int) {
    let start = reserveTail(maximum) + tail
    let written = initialize(UnsafeMutableRawBufferPointer(start: start, count: maximum))
    precondition(written >= 0 && written <= maximum, "wrote more than the room it was lent")
    tail += written
  }

  /// Lends the unconsumed bytes.
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    guard let bytes else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return try body(UnsafeRawBufferPointer(start: bytes + head, count: tail - head))
  }

  /// Drops the first `n` unconsumed bytes (all of them when `n` is larger).
  @inlinable
  public mutating func consume(_ n: Int) {
    head += max(0, min(n, tail - head))
    if head == tail {
      head = 0
      tail = 0
    }
  }

  /// Drops every byte and keeps the storage.
  @inlinable
  public mutating func removeAll() {
    head = 0
    tail = 0
  }

  /// Makes sure `n` more bytes can be appended without growing the storage again.
  public mutating func reserve(_ n: Int) { _ = reserveTail(n) }

  /// Frees the storage if the queue is empty and holds more than `limit` bytes.
  public mutating func release(keepingCapacity limit: Int) {
    guard isEmpty, capacity > limit else { return }
    adopt(nil)
  }

  /// The start of a block that is this queue's alone and has room for `n` bytes after
  /// `tail`.
  @inlinable
  mutating func reserveTail(_ n: Int) -> UnsafeMutableRawPointer {
    if tail + n <= storageCapacity, isKnownUniquelyReferenced(&storage), let bytes { return bytes }
    return grow(n)
  }

  /// A new block (or the same one, compacted) with room for `n` more bytes: the unconsumed
  /// bytes move to its start. A new block at least doubles, so appends stay amortized O(1).
  @usableFromInline
  mutating func grow(_ n: Int) -> UnsafeMutableRawPointer {
    let live = tail - head
    if live + n <= storageCapacity, head >= live, isKnownUniquelyReferenced(&storage), let bytes {
      // Room enough once the consumed bytes are gone, and moving the rest costs no more
      // than the bytes consumed since the last move (so moves stay amortized O(1) too).
      bytes.copyMemory(from: bytes + head, byteCount: live)
      head = 0
      tail = live
      return bytes
    }
    let new = Storage(capacity: max(live + n, 2 * storageCapacity, 64))
    if let bytes, live > 0 { new.bytes.copyMemory(from: bytes + head, byteCount: live) }
    adopt(new)
    head = 0
    tail = live
    return new.bytes
  }
}
