import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Options for the interactive prompt (used when stdin and stdout are terminals).
struct InteractiveOptions: ParsableArguments {
  @Flag(help: "Do not read or write the prompt history ($XDG_STATE_HOME/wsc/history).")
  var noHistory = false

  @Flag(help: "No colour in the prompt's output (also when NO_COLOR is set).")
  var noColor = false

  @Flag(help: "Accepted for wscat compatibility: slash commands are always on (/help lists them).")
  var slash = false

  /// Colour only on a terminal, and never when `--no-color` or a non-empty `NO_COLOR` says no.
  var colored: Bool {
    if noColor { return false }
    if let value = getenv("NO_COLOR"), value.pointee != 0 { return false }
    return Terminal.isTTY(1)
  }
}
