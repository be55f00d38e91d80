/// `--json` output: how a JSON message is shown.
enum JSONRenderer {
  /// `--json`: the value indented by two spaces per level (`pretty`), or on one line; with
  /// `color`, keys blue, strings green, numbers cyan, true/false/null magenta (ANSI SGR),
  /// as jq colours them.
  static func rendered(_ value: JSON, pretty: Bool, color: Bool) -> String {
    var out = ""
    render(value, into: &out, indent: 0, pretty: pretty, color: color)
    return out
  }

  private static func paint(_ text: String, _ code: String, _ color: Bool) -> String {
    color ? "\u{1B}[" + code + "m" + text + "\u{1B}[0m" : text
  }

  private static func render(_ value: JSON, into out: inout String, indent: Int, pretty: Bool, color: Bool) {
    let newline: String = pretty ? "\n" : ""
    let pad: String = pretty ? String(repeating: "  ", count: indent + 1) : ""
    let closing: String = pretty ? String(repeating: "  ", count: indent) : ""
    switch value {
    case .null: out += paint("null", "35", color)
    case .bool(let b): out += paint(b ? "true" : "false", "35", color)
    case .number(let n): out += paint(n.text, "36", color)
    case .string(let s): out += paint(JSON.quote(s), "32", color)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "[" + newline
      var i = 0
      for item in items {
        out += pad
        render(item, into: &out, indent: indent + 1, pretty: pretty, color: color)
        i += 1
        out += (i < items.count ? "," : "") + newline
      }
      out += closing + "]"
    case .object(let members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{" + newline
      var i = 0
      for member in members {
        let key: String = paint(JSON.quote(member.name), "34;1", color)
        out += pad + key + (pretty ? ": " : ":")
        render(member.value, into: &out, indent: indent + 1, pretty: pretty, color: color)
        i += 1
        out += (i < members.count ? "," : "") + newline
      }
      out += closing + "}"
    }
  }
}
