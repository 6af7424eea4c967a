import Foundation

/// Text and number formatting shared by the SVG writers.
enum SVGText {
    /// `text` made safe for XML character data and attribute values: `&`, `<`, `>`, `"` and `'`
    /// become entity references, and characters XML 1.0 forbids (C0 controls other than tab, line
    /// feed and carriage return, U+FFFE, U+FFFF) become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A coordinate in px with at most two decimals and no trailing zeros (`"12"`, `"3.5"`,
    /// `"-0.25"`); non-finite values become `"0"` (callers drop such points before).
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded(), Swift.abs(r) < 1e15 { return String(Int(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// The approximate width in px of `text` at `fontSize` in a sans-serif font (0.6 em per
    /// character), used for layout only.
    static func width(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.6
    }
}
