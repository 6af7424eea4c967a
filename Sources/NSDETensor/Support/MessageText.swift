/// Text from files or command lines quoted in error messages: at most `limit` characters, so that
/// a 50 MB tensor name or header gives a one-line message, not a 50 MB one.
///
/// Longer text keeps its first `limit` characters and says how many were left out:
/// `"abc… (1,000,000 more characters)"`.
public func clipForMessage(_ text: String, limit: Int = 200) -> String {
    precondition(limit > 0, "clipForMessage: limit must be positive")
    var index = text.startIndex
    var kept = 0
    while kept < limit, index < text.endIndex {
        text.formIndex(after: &index)
        kept += 1
    }
    guard index < text.endIndex else { return text }
    let omitted = text.distance(from: index, to: text.endIndex)
    return String(text[..<index]) + "… (\(omitted) more characters)"
}
