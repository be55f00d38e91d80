/// A bounded, incremental parser for an HTTP/1.1 message head: the start line and the
/// header fields up to the empty line (RFC 9112 §2.1, §5). It never buffers more than
/// `maxHeadSize` bytes, so an endless or huge response fails instead of eating memory
/// (curl CVE-2023-38039, SwiftNIO CVE-2026-28980).
///
/// Limits, after Python websockets: a line of at most 8,192 bytes, at most 128 header
/// fields, and 64 KiB for the whole head.
public struct HTTPHeadParser: Sendable {
  public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case lineTooLong(limit: Int)
    case tooManyHeaders(limit: Int)
    case headTooLarge(limit: Int)
    case invalidHeaderLine(String)
    case obsoleteLineFolding

    public var description: String {
      switch self {
      case .lineTooLong(let limit): return "HTTP header line longer than \(limit) bytes"
      case .tooManyHeaders(let limit): return "more than \(limit) HTTP header fields"
      case .headTooLarge(let limit): return "HTTP response head larger than \(limit) bytes"
      case .invalidHeaderLine(let line): return "invalid HTTP header line: \(line)"
      case .obsoleteLineFolding: return "HTTP header line folding is not allowed"
      }
    }
  }

  /// A parsed head.
  public struct Head: Sendable, Hashable {
    public var startLine: String
    /// Header fields in order, names as received, values with surrounding whitespace removed.
    public var headers: [(name: String, value: String)]

    public init(startLine: String, headers: [(name: String, value: String)]) {
      self.startLine = startLine
      self.headers = headers
    }

    /// All values of the header `name` (case-insensitive).
    public func values(_ name: String) -> [String] {
      let n = name.lowercased()
      return headers.filter { $0.name.lowercased() == n }.map(\.value)
    }

    public static func == (a: Head, b: Head) -> Bool {
      a.startLine == b.startLine && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }

    public func hash(into h: inout Hasher) {
      h.combine(startLine)
      for f in headers {
        h.combine(f.name)
        h.combine(f.value)
      }
    }
  }

  public var maxLineLength = 8192
  public var maxHeaders = 128
  public var maxHeadSize = 64 * 1024

  private var line: [UInt8] = []
  /// The start line, once complete.
  public private(set) var startLine: String?
  private var headers: [(name: String, value: String)] = []
  private var consumed = 0

  public init() {}

  /// True once some bytes of a head have arrived.
  public var hasPartialInput: Bool { consumed > 0 }
  /// True once the start line is complete.
  public var hasStartLine: Bool { startLine != nil }
  /// The first bytes of the start line while it is still incomplete.
  public var partialStartLine: ArraySlice<UInt8> { startLine == nil ? line.prefix(16) : [] }

  /// Feeds bytes. Returns the head and the index in `bytes` just past it once the empty
  /// line arrives; bytes after that index belong to the next protocol and are not consumed.
  public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> (Head, Int)? {
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      i += 1
      consumed += 1
      if consumed > maxHeadSize { throw .headTooLarge(limit: maxHeadSize) }
      if c != UInt8(ascii: "\n") {
        if line.count >= maxLineLength + 1 { throw .lineTooLong(limit: maxLineLength) }
        line.append(c)
        continue
      }
      if line.last == UInt8(ascii: "\r") { line.removeLast() }
      if line.count > maxLineLength { throw .lineTooLong(limit: maxLineLength) }
      defer { line.removeAll(keepingCapacity: true) }
      if startLine == nil {
        startLine = String(decoding: line, as: UTF8.self)
        continue
      }
      if line.isEmpty {
        let head = Head(startLine: startLine!, headers: headers)
        return (head, i)
      }
      if line[0] == UInt8(ascii: " ") || line[0] == UInt8(ascii: "\t") { throw .obsoleteLineFolding }
      guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
        line[..<colon].allSatisfy(Self.isTokenByte)
      else {
        throw .invalidHeaderLine(String(decoding: line.prefix(200), as: UTF8.self))
      }
      var value = line[(colon + 1)...]
      while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
      while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
      if value.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
        throw .invalidHeaderLine(String(decoding: line.prefix(200), as: UTF8.self))
      }
      if headers.count >= maxHeaders { throw .tooManyHeaders(limit: maxHeaders) }
      headers.append(
        (String(decoding: line[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }
    return nil
  }

  /// RFC 9110 §5.6.2 tchar.
  public static func isTokenByte(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
    }
  }

  /// A response's status line, `HTTP/1.x SP 3DIGIT [SP reason]` (RFC 9112 §4).
  public struct StatusLine: Sendable, Hashable {
    /// The digit after "HTTP/1.", as a byte ("0", "1"…): the callers decide which they accept.
    public var minorVersion: UInt8
    public var code: Int
    public var reason: String
  }

  /// `line` as a status line, or nil when it is not one.
  public static func statusLine(_ line: String) -> StatusLine? {
    let b = Array(line.utf8)
    guard b.count >= 12, b.starts(with: Array("HTTP/1.".utf8)), b[8] == UInt8(ascii: " "),
      b[9...11].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      b.count == 12 || b[12] == UInt8(ascii: " ")
    else { return nil }
    let code = Int(b[9] - 48) * 100 + Int(b[10] - 48) * 10 + Int(b[11] - 48)
    return StatusLine(
      minorVersion: b[7], code: code, reason: b.count > 13 ? String(decoding: b[13...], as: UTF8.self) : "")
  }

  /// Splits a comma-separated header value into trimmed, non-empty elements (RFC 9110 §5.6.1).
  public static func commaList(_ value: String) -> [Substring] {
    value.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
  }
}

extension Substring {
  func trimmingSpaces() -> Substring {
    var s = self
    while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
    while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
    return s
  }
}
