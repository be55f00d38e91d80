import ArgumentParser

/// `--generate-completion-script fish`, with every alias of every option in the `argparse`
/// specs (issue 20).
///
/// swift-argument-parser 1.8.2's fish generator builds one `argparse` spec per option from
/// its first short and first long name only ("n/no-check"), because a fish spec holds at
/// most one of each. `-k/--insecure` and `--cacert` were then unknown to fish's parse of
/// the command line: `wsc -k wss://…` consumed the URL as an unknown option's value, and
/// no other option was offered after it. The generator's own `complete` lines do list every
/// name (`-s 'n' -l 'no-check' -s 'k' -l 'insecure'`), so we read them and add one spec per
/// extra name pair, with the same value suffix. The options themselves stay as declared,
/// so parsing and `--help` are unchanged.
enum FishCompletion {
  /// The shell asked for by `--generate-completion-script[=]SHELL` among the arguments, or
  /// nil when the option is absent (a bare option means the login shell, as the parser does).
  static func requestedShell(_ arguments: [String]) -> CompletionShell? {
    let option = "--generate-completion-script"
    for (i, a) in arguments.enumerated() {
      if a.hasPrefix(option + "=") { return CompletionShell(rawValue: String(a.dropFirst(option.count + 1))) }
      guard a == option else { continue }
      if i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") {
        return CompletionShell(rawValue: arguments[i + 1])
      }
      return CompletionShell.autodetected()
    }
    return nil
  }

  static func script<Command: ParsableCommand>(for command: Command.Type) -> String {
    addingAliasSpecs(command.completionScript(for: .fish))
  }

  /// Adds the specs of the names after the first short and first long of each option.
  static func addingAliasSpecs(_ script: String) -> String {
    let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // "n/no-check" → ["k/insecure"]: the spec the generator wrote, without its value suffix.
    var extraSpecs: [String: [String]] = [:]
    for line in lines where line.hasPrefix("complete -c ") {
      // The description comes last and may contain anything: names only before it.
      let names = line.split(separator: " -d '", maxSplits: 1)[0]
      let shorts = quotedValues(after: " -s '", in: names)
      let longs = quotedValues(after: " -l '", in: names)
      guard shorts.count > 1 || longs.count > 1 else { continue }
      func spec(_ i: Int) -> String {
        let short = i < shorts.count ? shorts[i] : nil
        let long = i < longs.count ? longs[i] : nil
        return [short, long].compactMap { $0 }.joined(separator: "/")
      }
      extraSpecs[spec(0)] = (1..<max(shorts.count, longs.count)).map(spec)
    }
    guard !extraSpecs.isEmpty else { return script }
    return lines.map { line in
      // The call in the command's case ("__wsc_parse_subcommand 1 'c/connect=' …"), not the
      // function's definition.
      let code = line.drop { $0 == " " }
      guard code.hasPrefix("__"), code.contains("_parse_subcommand ") else { return line }
      return line.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
        guard word.hasPrefix("'"), word.hasSuffix("'"), word.count > 2 else { return String(word) }
        let spec = word.dropFirst().dropLast()
        let name = spec.prefix { $0 != "=" }
        let suffix = spec.dropFirst(name.count)
        guard let extra = extraSpecs[String(name)] else { return String(word) }
        return ([String(spec)] + extra.map { $0 + suffix }).map { "'\($0)'" }.joined(separator: " ")
      }.joined(separator: " ")
    }.joined(separator: "\n")
  }

  /// The single-quoted values that follow each occurrence of `marker` ("-s '" → "n").
  private static func quotedValues(after marker: String, in text: Substring) -> [String] {
    var values: [String] = []
    var rest = text[...]
    while let start = rest.firstRange(of: marker) {
      rest = rest[start.upperBound...]
      guard let end = rest.firstIndex(of: "'") else { break }
      values.append(String(rest[..<end]))
      rest = rest[rest.index(after: end)...]
    }
    return values
  }
}
