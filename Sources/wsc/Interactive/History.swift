import CEditLine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The prompt's history: libedit's `History`, loaded from and saved to
/// `$XDG_STATE_HOME/wsc/history` (default `~/.local/state/wsc/history`), capped at 1,000
/// lines. The file is private (0600, directory 0700): typed messages may hold tokens.
final class PromptHistory {
  static let capacity: Int32 = 1000

  let handle: OpaquePointer
  let path: String?

  /// `path` nil keeps history for this run only (`--no-history`).
  init?(path: String?) {
    guard let h = history_init() else { return nil }
    handle = h
    self.path = path
    _ = wsc_history_setsize(h, Self.capacity)
    _ = wsc_history_setunique(h, 1)
    if let path, access(path, R_OK) == 0 {
      _ = wsc_history_load(h, path)
    }
  }

  deinit { history_end(handle) }

  /// The history file's location from the environment, or nil when there is no home.
  static func defaultPath() -> String? {
    if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), state.hasPrefix("/") {
      return state + "/wsc/history"
    }
    guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return nil }
    return home + "/.local/state/wsc/history"
  }

  /// Adds a line and writes the file at once, so an interrupted session keeps it too.
  func add(_ line: String) {
    guard !line.isEmpty else { return }
    _ = wsc_history_enter(handle, line)
    save()
  }

  func save() {
    guard let path else { return }
    makeParentDirectories(of: path)
    let old = umask(0o077)
    _ = wsc_history_save(handle, path)
    umask(old)
  }

  private func makeParentDirectories(of path: String) {
    var prefix = ""
    let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
    for part in parts where !part.isEmpty {
      prefix += "/" + part
      if access(prefix, F_OK) != 0 { _ = mkdir(prefix, 0o700) }
    }
  }
}
