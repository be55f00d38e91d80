/// The client side of a SOCKS5 CONNECT (RFC 1928), with user/password authentication
/// (RFC 1929) when the proxy URL has credentials, without I/O.
///
/// States, in order: the greeting (methods offered) is sent; the method reply (2 bytes);
/// with method 2, the credentials are sent and their reply (2 bytes) read; then the
/// CONNECT request is sent and its reply read (4 bytes, then an address whose length the
/// 4th byte gives, then 2 bytes of port). Every read is bounded by those lengths; bytes
/// after the reply are the first bytes through the tunnel.
public struct Socks5Handshake: Sendable {
  /// Where the tunnel should lead: an address resolved here (`socks5://`) or a name the
  /// proxy resolves (`socks5h://`, at most 255 bytes).
  public enum Destination: Sendable, Hashable {
    case ipv4([UInt8])
    case ipv6([UInt8])
    case name(String)
  }

  enum State: Sendable {
    case method
    case authentication
    case reply
    case done
  }

  public let destination: Destination
  public let port: Int
  private let credentials: (user: [UInt8], password: [UInt8])?
  private(set) var state = State.method
  private var buffer: [UInt8] = []

  /// Throws if a credential is longer than the 255 bytes RFC 1929 allows.
  public init(destination: Destination, port: Int, user: String?, password: String?) throws(ProxyError) {
    self.destination = destination
    self.port = port
    if let user {
      let u = Array(user.utf8)
      let p = Array((password ?? "").utf8)
      guard (1...255).contains(u.count), p.count <= 255 else {
        throw ProxyError("SOCKS5 user names and passwords are 1 to 255 bytes (RFC 1929)")
      }
      credentials = (u, p)
    } else {
      credentials = nil
    }
    if case .name(let n) = destination, !(1...255).contains(n.utf8.count) {
      throw ProxyError("a host name sent to a SOCKS5 proxy is 1 to 255 bytes")
    }
  }

  /// The greeting: version 5 and the methods offered (0: none; 2: user/password).
  public func greeting() -> [UInt8] {
    credentials == nil ? [5, 1, 0] : [5, 2, 0, 2]
  }

  /// What `receive` decided.
  public enum Step: Sendable, Equatable {
    /// Send these bytes, then feed the proxy's answer.
    case send([UInt8])
    /// The tunnel is open; these bytes already came through it.
    case established(leftover: [UInt8])
  }

  /// Feeds bytes from the proxy; nil while more are needed.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) throws(ProxyError) -> Step? {
    buffer.append(contentsOf: bytes)
    while true {
      switch state {
      case .method:
        guard buffer.count >= 2 else { return nil }
        guard buffer[0] == 5 else {
          throw ProxyError(
            "the proxy's reply is not SOCKS5: \"\(ProxyError.printable(buffer))\" (not a SOCKS5 proxy?)")
        }
        let method = buffer[1]
        buffer.removeFirst(2)
        switch method {
        case 0:
          state = .reply
          return .send(connectRequest())
        case 2 where credentials != nil:
          state = .authentication
          let (u, p) = credentials!
          return .send([1, UInt8(u.count)] + u + [UInt8(p.count)] + p)
        case 0xFF, 2:
          throw ProxyError(
            credentials == nil
              ? "the SOCKS5 proxy wants credentials: --proxy socks5://user:password@host:port"
              : "the SOCKS5 proxy accepts none of the offered authentication methods")
        default:
          throw ProxyError("the SOCKS5 proxy chose authentication method \(method), which was not offered")
        }
      case .authentication:
        guard buffer.count >= 2 else { return nil }
        guard buffer[0] == 1 else {
          throw ProxyError(
            "invalid SOCKS5 authentication reply: \"\(ProxyError.printable(buffer.prefix(2)))\"")
        }
        guard buffer[1] == 0 else {
          throw ProxyError("the SOCKS5 proxy refused the user name and password (status \(buffer[1]))")
        }
        buffer.removeFirst(2)
        state = .reply
        return .send(connectRequest())
      case .reply:
        guard buffer.count >= 5 else { return nil }
        guard buffer[0] == 5, buffer[2] == 0 else {
          throw ProxyError("invalid SOCKS5 reply: \"\(ProxyError.printable(buffer.prefix(4)))\"")
        }
        guard buffer[1] == 0 else {
          throw ProxyError("the SOCKS5 proxy could not connect to \(target): \(Self.replyText(buffer[1]))")
        }
        let length: Int
        switch buffer[3] {
        case 1: length = 4 + 4 + 2
        case 4: length = 4 + 16 + 2
        case 3: length = 4 + 1 + Int(buffer[4]) + 2
        default: throw ProxyError("invalid SOCKS5 reply: address type \(buffer[3])")
        }
        guard buffer.count >= length else { return nil }
        state = .done
        let leftover = Array(buffer[length...])
        buffer = []
        return .established(leftover: leftover)
      case .done:
        return nil
      }
    }
  }

  private var target: String {
    switch destination {
    case .name(let n): return "\(n):\(port)"
    case .ipv4(let a): return a.map(String.init).joined(separator: ".") + ":\(port)"
    case .ipv6(let a):
      let groups = stride(from: 0, to: 16, by: 2).map {
        String(UInt16(a[$0]) << 8 | UInt16(a[$0 + 1]), radix: 16)
      }
      return "[\(groups.joined(separator: ":"))]:\(port)"
    }
  }

  /// VER CMD=CONNECT RSV ATYP DST.ADDR DST.PORT (RFC 1928 §4).
  func connectRequest() -> [UInt8] {
    var out: [UInt8] = [5, 1, 0]
    switch destination {
    case .ipv4(let a): out += [1] + a
    case .ipv6(let a): out += [4] + a
    case .name(let n): out += [3, UInt8(n.utf8.count)] + Array(n.utf8)
    }
    return out + [UInt8(port >> 8), UInt8(port & 0xFF)]
  }

  /// RFC 1928 §6.
  static func replyText(_ code: UInt8) -> String {
    switch code {
    case 1: return "general SOCKS server failure"
    case 2: return "connection not allowed by ruleset"
    case 3: return "network unreachable"
    case 4: return "host unreachable"
    case 5: return "connection refused"
    case 6: return "TTL expired"
    case 7: return "command not supported"
    case 8: return "address type not supported"
    default: return "reply code \(code)"
    }
  }
}
