/// `-j/--json`: a text message that is JSON is shown indented (`pretty`, the default) or
/// on one line (`compact`), coloured as jq colours it when stdout is a terminal and colour
/// is not turned off (`--no-color`, `NO_COLOR`). Text that is not JSON, and binary
/// messages, are shown as they would be without the flag.
struct JSONDisplay {
  enum Style: String {
    case pretty
    case compact
  }

  var style: Style
  var color: Bool

  /// The lines to show for `text`, or nil when it is not JSON.
  func lines(_ text: some Collection<UInt8>) -> [String]? {
    guard let value = try? JSON.parse(Array(text)) else { return nil }
    let rendered = JSONRenderer.rendered(value, pretty: style == .pretty, color: color)
    return rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  }
}
