/// The extension interface (RFC 6455 §9): how a per-message extension such as
/// permessage-deflate (RFC 7692) plugs into the handshake and the state machine without
/// this module knowing its algorithm (the deflate code and zlib live in WebSocketDeflate).
///
/// Three pieces, one per phase:
/// - `ExtensionNegotiator` writes the client's offer and validates the server's answer
///   (`ClientHandshake.Options.negotiators`);
/// - `NegotiatedExtension` is the agreed configuration, a plain value (`-v` prints it);
/// - `MessageExtension` transforms the payloads of one connection's data messages.

/// The client side of negotiating one extension.
public protocol ExtensionNegotiator: Sendable {
  /// The extension token, e.g. "permessage-deflate" (compared case-insensitively).
  var name: String { get }
  /// The offer as it goes in `Sec-WebSocket-Extensions`, e.g. "permessage-deflate; client_max_window_bits".
  var offer: String { get }
  /// Checks the element of the server's response that names this extension and returns
  /// what was agreed. A parameter that is unknown, repeated, malformed or outside what was
  /// offered throws: the client then fails the connection (RFC 6455 §9.1, RFC 7692 §5).
  func accept(_ response: ExtensionOffer) throws(ExtensionNegotiationError) -> any NegotiatedExtension
}

/// What both ends agreed on for one extension.
public protocol NegotiatedExtension: Sendable, CustomStringConvertible {
  /// A fresh codec for one connection in `role`.
  func makeExtension(role: Role) -> any MessageExtension
}

/// Why an extension's response parameters were refused.
public struct ExtensionNegotiationError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Why an extension could not encode an outgoing message (a local failure, e.g. out of memory).
public struct ExtensionEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A per-message extension in use on one connection: it owns the codec state (for
/// permessage-deflate the compression contexts kept across messages), so it is a class and
/// one instance belongs to one connection.
///
/// The connection calls it frame by frame, so nothing is buffered in compressed form:
/// - on send, `encode` once per frame of a message (`isFirst` for the first, `isFinal`
///   for the last); the returned RSV bits go on that frame (RFC 7692 §6: RSV1 on the first
///   frame only);
/// - on receive, for a message whose first frame carried one of `rsvMask`'s bits, `decode`
///   for each piece of payload as it arrives (unmasked), then once with `isFinal` at the end
///   of the message's last frame. It appends the decoded bytes to `sink` and must stop and
///   throw `ProtocolError.messageTooBig(limit:)` as soon as `sink` would grow past `limit`,
///   so a compression bomb never takes more than `limit` bytes.
public protocol MessageExtension: AnyObject {
  /// The RSV bits this extension claims (permessage-deflate: RSV1, `FrameHeader.rsv1`).
  var rsvMask: UInt8 { get }

  /// Encodes one frame's payload of an outgoing data message.
  func encode(_ payload: UnsafeRawBufferPointer, isFirst: Bool, isFinal: Bool) throws(ExtensionEncodingError)
    -> (payload: [UInt8], rsv: UInt8)

  /// Decodes a piece of an incoming transformed message into `sink`.
  func decode(_ chunk: UnsafeRawBufferPointer, isFinal: Bool, into sink: inout [UInt8], limit: Int)
    throws(ProtocolError)
}
