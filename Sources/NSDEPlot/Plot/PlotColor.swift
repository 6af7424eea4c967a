/// An opaque sRGB colour for plot strokes, fills and markers (transparency is set separately,
/// by ``Series/opacity``).
public struct PlotColor: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Red, 0–255.
    public var red: UInt8
    /// Green, 0–255.
    public var green: UInt8
    /// Blue, 0–255.
    public var blue: UInt8

    /// Creates a colour from 8-bit sRGB components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Parses `"#rrggbb"` or `"rrggbb"` (hex digits, either case); `nil` for anything else.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("#") { digits = digits.dropFirst() }
        guard digits.count == 6, digits.allSatisfy(\.isHexDigit), let v = UInt32(digits, radix: 16) else { return nil }
        self.init(red: UInt8((v >> 16) & 0xff), green: UInt8((v >> 8) & 0xff), blue: UInt8(v & 0xff))
    }

    /// The colour as SVG writes it, `"#rrggbb"` in lower case.
    public var hex: String {
        func two(_ c: UInt8) -> String { c < 16 ? "0" + String(c, radix: 16) : String(c, radix: 16) }
        return "#" + two(red) + two(green) + two(blue)
    }

    /// Same as ``hex``.
    public var description: String { hex }

    /// Black, `#000000`.
    public static let black = PlotColor(red: 0, green: 0, blue: 0)
    /// Mid grey, `#7f7f7f`.
    public static let gray = PlotColor(red: 0x7f, green: 0x7f, blue: 0x7f)

    /// The ten colours of the Tableau 10 palette (matplotlib's default cycle), in order: blue,
    /// orange, green, red, purple, brown, pink, grey, olive, cyan.
    public static let palette: [PlotColor] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { PlotColor(red: UInt8($0 >> 16), green: UInt8(($0 >> 8) & 0xff), blue: UInt8($0 & 0xff)) }

    /// Colour `index` of ``palette``, cycling (any integer, negative ones included).
    public static func palette(_ index: Int) -> PlotColor {
        let n = palette.count
        return palette[((index % n) + n) % n]
    }
}
