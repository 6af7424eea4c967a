/// Text as one CSV field (RFC 4180): quoted, with inner quotes doubled, when it holds a comma,
/// a quote or a line break; unchanged otherwise.
public func csvField(_ text: String) -> String {
    text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
        ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}
