import CEditLine
import WebSocketClient
import WebSocketDeflate

/// wsc's version, in one place (SemVer; CHANGELOG.md lists what each one changed).
enum Version {
  static let wsc = "0.6.0"

  /// `wsc --version`: wsc's version, then the libraries it runs on.
  static var text: String {
    """
    wsc \(wsc)
    \(openSSLVersion())
    zlib \(zlibRuntimeVersion())
    libedit (API \(wsc_libedit_major()).\(wsc_libedit_minor()))
    """
  }
}
