/// Wraps rendered SVG elements in a standalone document.
enum SVGDocument {
    /// The font stack used for all text.
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// `body` inside an XML declaration and a `width` × `height` px `<svg>` root with an
    /// accessible `<title>` (omitted when `title` is empty).
    static func wrap(body: String, width: Double, height: Double, title: String) -> String {
        let (w, h) = (SVGText.number(width), SVGText.number(height))
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(w)\" height=\"\(h)\" "
        s += "viewBox=\"0 0 \(w) \(h)\" font-family=\"\(fontFamily)\" font-size=\"12\">\n"
        if !title.isEmpty { s += "<title>\(SVGText.escape(title))</title>\n" }
        s += body
        s += "</svg>\n"
        return s
    }
}
