import CZlib
import WebSocketProtocol

/// The permessage-deflate codec of one connection (RFC 7692 §7.2), over zlib raw deflate.
///
/// - Sending: each frame of a message is deflated with a sync flush; the final frame's
///   trailing `00 00 ff ff` is removed (§7.2.1), and RSV1 goes on the first frame only.
///   With no context takeover for our side the compressor is reset after each message.
/// - Receiving: payload is inflated as it arrives, then `00 00 ff ff` is appended at the end
///   of the message (§7.2.2). Output never grows past `limit + 1` bytes: at that point the
///   message is refused with 1009, so a bomb costs at most the limit in memory.
///   Corrupt data fails with 1002 (`ProtocolError.extensionError`).
public final class DeflateCodec: MessageExtension {
  public let parameters: DeflateParameters
  public let role: Role
  public var rsvMask: UInt8 { FrameHeader.rsv1 }

  /// Our compressor's window; 8 means we do not compress (see `DeflateParameters`).
  private let sendWindowBits: Int
  private let resetCompressor: Bool
  private let resetDecompressor: Bool
  private var deflater: UnsafeMutablePointer<z_stream>?
  private var inflater: UnsafeMutablePointer<z_stream>?

  static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
  /// zlib counts in 32 bits; larger inputs go in slices.
  static let maxSlice = 1 << 30
  /// zlib writes here and the produced bytes are appended to their destination: an array
  /// that zlib wrote into directly would first have to be zero-filled, and zero-filling a
  /// 64 KiB step for a 64-byte message made inflating cost 25 times what zlib costs.
  private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

  public init(parameters: DeflateParameters, role: Role) {
    self.parameters = parameters
    self.role = role
    let limit = role == .client ? parameters.clientMaxWindowBits : parameters.serverMaxWindowBits
    sendWindowBits = limit ?? 15
    resetCompressor =
      role == .client ? parameters.clientNoContextTakeover : parameters.serverNoContextTakeover
    resetDecompressor =
      role == .client ? parameters.serverNoContextTakeover : parameters.clientNoContextTakeover
  }

  deinit {
    if let d = deflater {
      deflateEnd(d)
      d.deallocate()
    }
    if let i = inflater {
      inflateEnd(i)
      i.deallocate()
    }
    scratch.deallocate()
  }

  /// Whether messages we send are compressed (not when our window is limited to 8 bits).
  public var compressesOutgoing: Bool { sendWindowBits >= 9 }

  // MARK: Sending

  public func encode(_ payload: UnsafeRawBufferPointer, isFirst: Bool, isFinal: Bool)
    throws(ExtensionEncodingError) -> (payload: [UInt8], rsv: UInt8)
  {
    guard compressesOutgoing else { return (Array(payload), 0) }
    let stream = try compressor()
    var out: [UInt8] = []
    out.reserveCapacity(min(payload.count / 2 + 64, scratch.count))
    let out8 = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var offset = 0
    repeat {
      let slice = min(payload.count - offset, Self.maxSlice)
      let last = offset + slice == payload.count
      stream.pointee.next_in = payload.baseAddress.map {
        UnsafeMutablePointer(mutating: $0.advanced(by: offset).assumingMemoryBound(to: UInt8.self))
      }
      stream.pointee.avail_in = UInt32(slice)
      offset += slice
      while true {
        stream.pointee.next_out = out8
        stream.pointee.avail_out = UInt32(scratch.count)
        let rc = deflate(stream, last ? Z_SYNC_FLUSH : Z_NO_FLUSH)
        guard rc == Z_OK || rc == Z_BUF_ERROR else { throw .init("deflate failed (\(rc))") }
        let produced = scratch.count - Int(stream.pointee.avail_out)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<produced]))
        // Done with this slice once all input is taken and the output was not full.
        if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { break }
      }
    } while offset < payload.count
    if isFinal {
      if out.count >= 4 && out.suffix(4).elementsEqual(Self.tail) { out.removeLast(4) }
      // §7.2.3.6: an empty message is the single byte 00 (zlib already gives that).
      if out.isEmpty { out = [0x00] }
      if resetCompressor { deflateReset(stream) }
    }
    return (out, isFirst ? FrameHeader.rsv1 : 0)
  }

  private func compressor() throws(ExtensionEncodingError) -> UnsafeMutablePointer<z_stream> {
    if let d = deflater { return d }
    let d = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    d.initialize(to: z_stream())
    let rc = wsc_deflateInit2(
      d, Int32(parameters.compressionLevel), Z_DEFLATED, -Int32(sendWindowBits),
      Int32(parameters.memoryLevel), Z_DEFAULT_STRATEGY)
    guard rc == Z_OK else {
      d.deallocate()
      throw .init("deflateInit2 failed (\(rc))")
    }
    deflater = d
    return d
  }

  // MARK: Receiving

  public func decode(_ chunk: UnsafeRawBufferPointer, isFinal: Bool, into sink: inout [UInt8], limit: Int)
    throws(ProtocolError)
  {
    let stream = try decompressor()
    if chunk.count > 0 { try inflate(stream, chunk, into: &sink, limit: limit) }
    if isFinal {
      var failure: ProtocolError?
      Self.tail.withUnsafeBytes { t in
        do throws(ProtocolError) { try inflate(stream, t, into: &sink, limit: limit) } catch {
          failure = error
        }
      }
      if let failure { throw failure }
      if resetDecompressor { inflateReset(stream) }
    }
  }

  private func decompressor() throws(ProtocolError) -> UnsafeMutablePointer<z_stream> {
    if let i = inflater { return i }
    let i = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    i.initialize(to: z_stream())
    // A 15-bit window inflates data compressed with any smaller window.
    let rc = wsc_inflateInit2(i, -15)
    guard rc == Z_OK else {
      i.deallocate()
      throw .extensionError("permessage-deflate: inflateInit2 failed (\(rc))")
    }
    inflater = i
    return i
  }

  private func inflate(
    _ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, into sink: inout [UInt8],
    limit: Int
  ) throws(ProtocolError) {
    var offset = 0
    while offset < input.count {
      let slice = min(input.count - offset, Self.maxSlice)
      stream.pointee.next_in = UnsafeMutablePointer(
        mutating: input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self))
      stream.pointee.avail_in = UInt32(slice)
      offset += slice
      inner: while true {
        // Never more room than limit + 1 in all: one byte past the limit proves it is exceeded.
        let step = min(limit + 1 - sink.count, scratch.count)
        stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(step)
        let rc = CZlib.inflate(stream, Z_SYNC_FLUSH)
        let unused = Int(stream.pointee.avail_out)
        let produced = step - unused
        if produced > 0 {
          if sink.capacity < sink.count + produced {
            // Grow geometrically but never past limit + 1, so a bomb costs at most the limit.
            sink.reserveCapacity(min(limit + 1, max(sink.count + produced, sink.capacity * 2)))
          }
          sink.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<produced]))
          if sink.count > limit { throw .messageTooBig(limit: limit) }
        }
        switch rc {
        case Z_OK: break
        case Z_STREAM_END:
          // A block with BFINAL = 1 ends the deflate stream (§7.2.3.4); what follows in the
          // message (at least the appended tail) starts a new one.
          inflateReset(stream)
        case Z_BUF_ERROR:
          // No progress possible: all input is taken and all output was given.
          if stream.pointee.avail_in == 0 { break inner }
          throw .extensionError("permessage-deflate: invalid compressed data (truncated)")
        default:
          let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
          throw .extensionError("permessage-deflate: invalid compressed data (\(message))")
        }
        if stream.pointee.avail_in == 0 && unused > 0 { break inner }
      }
    }
  }
}

/// The zlib in use ("1.2.13"), for `--version`.
public func zlibRuntimeVersion() -> String {
  String(cString: zlibVersion())
}
