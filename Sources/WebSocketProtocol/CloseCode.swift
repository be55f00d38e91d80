/// Close status codes (RFC 6455 §7.4).
public enum CloseCode {
  public static let normalClosure: UInt16 = 1000
  public static let goingAway: UInt16 = 1001
  public static let protocolError: UInt16 = 1002
  public static let unsupportedData: UInt16 = 1003
  /// Reserved: "no status code was actually present" (§7.4.1); never sent on the wire.
  public static let noStatusReceived: UInt16 = 1005
  /// Reserved: the connection was closed abnormally (§7.4.1); never sent on the wire.
  public static let abnormalClosure: UInt16 = 1006
  public static let invalidPayloadData: UInt16 = 1007
  public static let policyViolation: UInt16 = 1008
  public static let messageTooBig: UInt16 = 1009
  public static let mandatoryExtension: UInt16 = 1010
  public static let internalError: UInt16 = 1011
  /// Reserved: TLS handshake failure (§7.4.1); never sent on the wire.
  public static let tlsHandshake: UInt16 = 1015

  /// Whether `code` may appear in a Close frame on the wire (RFC 6455 §7.4.1, §7.4.2).
  ///
  /// 1000–1003 and 1007–1014 are defined or registered by IANA; 3000–4999 belong to
  /// libraries and applications. 1004, 1005, 1006 and 1015 are reserved, 1016–2999 are
  /// reserved for future protocol revisions, and everything below 1000 or above 4999
  /// is not used.
  @inlinable
  public static func isValidOnWire(_ code: UInt16) -> Bool {
    switch code {
    case 1000...1003, 1007...1014, 3000...4999: return true
    default: return false
    }
  }
}
