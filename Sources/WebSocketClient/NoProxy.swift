import WebSocketProtocol

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The hosts to reach directly, as curl reads `NO_PROXY`/`--noproxy` (CURLOPT_NOPROXY):
/// a list separated by commas (and spaces); `*` alone matches every host; a name matches
/// itself and its subdomains, whole labels only (`example.com` and `.example.com` match
/// `www.example.com`; `ample.com` does not match `example.com`); an IP literal matches
/// that address, and `a.b.c.d/n` or `v6/n` a CIDR range (names never match addresses:
/// no DNS lookup is made). Case does not matter, and neither do a port in an entry
/// (CHECKLIST D8) or a trailing dot.
public struct NoProxy: Sendable, Hashable {
  enum Entry: Sendable, Hashable {
    case all
    case name(String)
    case address([UInt8], prefix: Int)
  }

  let entries: [Entry]

  public init(_ list: String) {
    var entries: [Entry] = []
    for raw in list.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
      var item = Substring(raw)
      if item == "*" {
        entries.append(.all)
        continue
      }
      var prefix: Int?
      if let slash = item.lastIndex(of: "/") {
        prefix = Int(item[item.index(after: slash)...])
        item = item[..<slash]
      }
      if item.hasPrefix("["), let close = item.firstIndex(of: "]") {
        item = item[item.index(after: item.startIndex)..<close]
      } else if item.filter({ $0 == ":" }).count == 1, let colon = item.firstIndex(of: ":") {
        item = item[..<colon]  // host:port
      }
      if let bytes = Self.addressBytes(String(item)) {
        let bits = bytes.count * 8
        entries.append(.address(bytes, prefix: min(max(prefix ?? bits, 0), bits)))
        continue
      }
      var name = item.lowercased()
      while name.hasPrefix(".") { name.removeFirst() }
      while name.hasSuffix(".") { name.removeLast() }
      if !name.isEmpty { entries.append(.name(name)) }
    }
    self.entries = entries
  }

  public var isEmpty: Bool { entries.isEmpty }

  /// Whether `host` (a name, or an IP literal without brackets) is reached directly.
  public func matches(_ host: String) -> Bool {
    var name = host.lowercased()
    while name.hasSuffix(".") { name.removeLast() }
    let address = Self.addressBytes(name)
    for entry in entries {
      switch entry {
      case .all: return true
      case .name(let n):
        if address == nil && (name == n || name.hasSuffix("." + n)) { return true }
      case .address(let bytes, let prefix):
        if let address, address.count == bytes.count, Self.samePrefix(address, bytes, bits: prefix) {
          return true
        }
      }
    }
    return false
  }

  /// The 4 or 16 bytes of an IPv4 or IPv6 literal, or nil for a name.
  static func addressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
  }

  static func samePrefix(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
    var remaining = bits
    for i in 0..<a.count where remaining > 0 {
      let take = min(remaining, 8)
      let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
      if a[i] & mask != b[i] & mask { return false }
      remaining -= take
    }
    return true
  }
}
