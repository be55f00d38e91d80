import WebSocketClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `--sslkeylogfile FILE` or the `SSLKEYLOGFILE` variable: where the TLS session keys go,
/// and which of the two asked for it (errors and the warning name it).
struct KeyLogSetting {
  var path: String
  /// "--sslkeylogfile" or "SSLKEYLOGFILE".
  var source: String

  /// The flag wins over the variable; an empty value means off, so `--sslkeylogfile ''`
  /// silences an exported SSLKEYLOGFILE the way `--proxy ''` silences the proxy variables.
  init?(flag: String?, environment: String?) {
    if let flag {
      guard !flag.isEmpty else { return nil }
      (path, source) = (flag, "--sslkeylogfile")
    } else if let environment, !environment.isEmpty {
      (path, source) = (environment, "SSLKEYLOGFILE")
    } else {
      return nil
    }
  }

  init?(command: WSC) {
    self.init(
      flag: command.tls.sslkeylogfile, environment: getenv("SSLKEYLOGFILE").map { String(cString: $0) })
  }

  /// Opens the file before anything connects and says, once, that the traffic can now be
  /// decrypted by whoever reads it. A file that cannot be opened ends wsc here (exit 10):
  /// the user asked for the keys, and a session they cannot decrypt later would be wasted.
  func open() -> TLSKeyLog {
    do throws(WebSocketClientError) {
      let keyLog = try TLSKeyLog(path: path)
      Terminal.error(
        "warning: TLS session keys are written to \(Terminal.escape(path)) (\(source)); "
          + "anyone who can read it can decrypt the traffic")
      return keyLog
    } catch {
      Terminal.error("\(source): \(Terminal.escape(error.description))")
      Session.exit(ExitStatus.localIO)
    }
  }
}
