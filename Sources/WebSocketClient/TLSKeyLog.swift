import COpenSSL
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file that receives the TLS session secrets in the NSS key log format, one line per
/// secret (`CLIENT_RANDOM …` for TLS 1.2, `CLIENT_HANDSHAKE_TRAFFIC_SECRET …`,
/// `CLIENT_TRAFFIC_SECRET_0 …` and the rest for TLS 1.3), as curl and browsers write it for
/// `SSLKEYLOGFILE`; Wireshark reads it to decrypt a capture.
///
/// One object may serve several TLS contexts (the origin, an https:// proxy, every client of
/// listen mode): the file is opened once, and lines are appended under a lock because
/// OpenSSL calls back on whichever I/O thread is doing a handshake.
public final class TLSKeyLog: Sendable {
  /// The file, as given.
  public let path: String
  private let fileDescriptor: Int32
  /// Keeps the lines of concurrent handshakes whole and in one piece each.
  private let lock = Mutex(())

  /// Opens (or creates, mode 0600: the file holds secrets) `path` for appending, so one file
  /// can collect several runs as with curl. Throws `.local` with the reason, before any
  /// connection is made.
  public init(path: String) throws(WebSocketClientError) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .local("cannot open \(path): \(errnoText(errno))") }
    self.path = path
    self.fileDescriptor = fd
  }

  deinit { _ = close(fileDescriptor) }

  /// Appends `line` and a newline with one `write` where possible, so even another process
  /// appending to the same file (O_APPEND) does not split it.
  func append(_ line: UnsafePointer<CChar>) {
    var bytes = Array(UnsafeRawBufferPointer(start: line, count: strlen(line)))
    bytes.append(UInt8(ascii: "\n"))
    lock.withLock { _ in
      var offset = 0
      while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 {
          offset += n
        } else if n < 0 && errno == EINTR {
          continue
        } else {
          // A full disk or a vanished file must not break the TLS session it describes:
          // the line is lost, the connection goes on.
          return
        }
      }
    }
  }

  /// The SSL_CTX ex_data slot holding a context's key log, retained; OpenSSL releases it
  /// when the context is freed, so the log outlives every session that may call back.
  private static let slot: Int32 = wsc_SSL_CTX_get_ex_new_index { _, value, _, _, _, _ in
    if let value { Unmanaged<TLSKeyLog>.fromOpaque(value).release() }
  }

  /// Makes `context` log the secrets of each of its sessions here. The C callback cannot
  /// capture Swift state, so it finds the log through the session's context.
  func attach(to context: OpaquePointer) throws(WebSocketClientError) {
    let retained = Unmanaged.passRetained(self)
    guard Self.slot >= 0, SSL_CTX_set_ex_data(context, Self.slot, retained.toOpaque()) == 1 else {
      retained.release()
      throw .tls("cannot set up the key log \(path)")
    }
    SSL_CTX_set_keylog_callback(context) { ssl, line in
      guard let ssl, let line, let context = SSL_get_SSL_CTX(ssl),
        let value = SSL_CTX_get_ex_data(context, TLSKeyLog.slot)
      else { return }
      Unmanaged<TLSKeyLog>.fromOpaque(value).takeUnretainedValue().append(line)
    }
  }
}
