/// Why a proxy could not give us a tunnel: it refused (its status and reason, escaped),
/// answered something that is not its protocol, or hung up. Exit 4 (DESIGN.md §5).
public struct ProxyError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String

  public init(_ description: String) { self.description = description }

  /// Bytes from the proxy made safe to print: printable ASCII as is, the rest as `\xNN`.
  static func printable<C: Collection>(_ bytes: C, limit: Int = 200) -> String where C.Element == UInt8 {
    var out = ""
    for b in bytes.prefix(limit) {
      if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") {
        out.unicodeScalars.append(Unicode.Scalar(b))
      } else {
        let hex = String(b, radix: 16)
        out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return bytes.count > limit ? out + "…" : out
  }
}
