import Testing

@testable import WebSocketProtocol

/// The connection's output buffer (issue 17): whatever mix of appends and partial
/// consumes, it holds exactly what an array model holds, and a copy is a value.
@Suite("ByteQueue")
struct ByteQueueTests {
  private func contents(_ q: ByteQueue) -> [UInt8] { q.withUnsafeBytes { Array($0) } }

  @Test("random appends, partial consumes and releases agree with an array model")
  func agreesWithAnArray() {
    var rng = SplitMix64(seed: 17)
    var queue = ByteQueue()
    var model: [UInt8] = []
    var next: UInt8 = 0
    for step in 0..<20_000 {
      switch rng.next() % 6 {
      case 0, 1:
        let n = Int(rng.next() % 300)
        let bytes = (0..<n).map { _ -> UInt8 in
          next &+= 1
          return next
        }
        bytes.withUnsafeBytes { queue.append($0) }
        model += bytes
      case 2:
        next &+= 1
        queue.append(next)
        model.append(next)
      case 3:
        // Encode into the free space, writing less than the room lent.
        let room = Int(rng.next() % 64) + 1
        let used = Int(rng.next() % UInt64(room + 1))
        let first = next
        queue.append(upTo: room) { p in
          for i in 0..<used { p[i] = first &+ UInt8(truncatingIfNeeded: i + 1) }
          return used
        }
        for i in 0..<used { model.append(first &+ UInt8(truncatingIfNeeded: i + 1)) }
        next = first &+ UInt8(truncatingIfNeeded: used)
      case 4:
        let n = Int(rng.next() % UInt64(model.count + 2))
        queue.consume(n)
        model.removeFirst(min(n, model.count))
      default:
        queue.release(keepingCapacity: 256)
        if step % 7 == 0 { queue.reserve(Int(rng.next() % 1000)) }
      }
      #expect(queue.count == model.count)
      #expect(queue.capacity >= queue.count)
      if step % 97 == 0 { #expect(contents(queue) == model) }
    }
    #expect(contents(queue) == model)
  }

  @Test("a copy is a value: appending to or consuming one leaves the other as it was")
  func copyOnWrite() {
    var a = ByteQueue(capacity: 16)
    [UInt8]([1, 2, 3, 4]).withUnsafeBytes { a.append($0) }
    var b = a
    b.append(5)
    a.consume(1)
    #expect(contents(a) == [2, 3, 4])
    #expect(contents(b) == [1, 2, 3, 4, 5])
    var c = b
    c.append(upTo: 4) { p in
      p[0] = 9
      return 1
    }
    #expect(contents(b) == [1, 2, 3, 4, 5])
    #expect(contents(c) == [1, 2, 3, 4, 5, 9])
  }

  @Test("consuming everything resets to the start; release frees only an empty, large queue")
  func consumeAndRelease() {
    var q = ByteQueue()
    let big = [UInt8](repeating: 7, count: 5000)
    big.withUnsafeBytes { q.append($0) }
    let capacity = q.capacity
    q.release(keepingCapacity: 100)
    #expect(q.capacity == capacity)  // not empty: kept
    q.consume(4999)
    #expect(q.count == 1)
    q.consume(10)
    #expect(q.isEmpty)
    q.release(keepingCapacity: capacity)
    #expect(q.capacity == capacity)  // not over the limit: kept
    q.release(keepingCapacity: 100)
    #expect(q.capacity == 0)
    q.append("hé")
    #expect(contents(q) == Array("hé".utf8))
  }
}
