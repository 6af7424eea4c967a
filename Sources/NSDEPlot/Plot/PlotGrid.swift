/// Several ``LinePlot`` panels in one SVG document, laid out row by row (e.g. one panel per σ in
/// Figure 1, or one per data set in Figure 3).
///
/// Each panel keeps its own axes, ranges and legend and is drawn at ``panelWidth`` ×
/// ``panelHeight`` px (its own `width` and `height` are ignored), inside a nested `<svg>` element.
public struct PlotGrid: SVGRenderable, Sendable {
    /// A title above all panels; empty for none.
    public var title: String
    /// The panels, placed left to right, then top to bottom.
    public var panels: [LinePlot]
    /// Panels per row (at least 1 is used).
    public var columns: Int
    /// Width of each panel in px.
    public var panelWidth: Double
    /// Height of each panel in px.
    public var panelHeight: Double

    /// Creates a grid.
    ///
    /// - Parameters:
    ///   - title: overall title (default none).
    ///   - panels: the plots.
    ///   - columns: panels per row (default: all in one row, at most 3).
    ///   - panelWidth: px per panel (default 480).
    ///   - panelHeight: px per panel (default 360).
    public init(title: String = "", panels: [LinePlot], columns: Int? = nil,
                panelWidth: Double = 480, panelHeight: Double = 360) {
        self.title = title
        self.panels = panels
        self.columns = columns ?? min(max(panels.count, 1), 3)
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    /// The complete SVG document (``SVGRenderable``): `columns × panelWidth` px wide.
    public func svgString() -> String {
        let n = SVGText.number
        let columns = max(1, self.columns)
        let rows = max(1, (panels.count + columns - 1) / columns)
        let (pw, ph) = (max(panelWidth, 120), max(panelHeight, 100))
        let header = title.isEmpty ? 0.0 : 34
        let (w, h) = (Double(columns) * pw, header + Double(rows) * ph)
        var body = "<rect x=\"0\" y=\"0\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"#ffffff\"/>\n"
        if !title.isEmpty {
            body += "<text class=\"title\" x=\"\(n(w / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" "
            body += "font-weight=\"bold\">\(SVGText.escape(title))</text>\n"
        }
        for (i, panel) in panels.enumerated() {
            let (x, y) = (Double(i % columns) * pw, header + Double(i / columns) * ph)
            body += "<svg x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(pw))\" height=\"\(n(ph))\" viewBox=\"0 0 \(n(pw)) \(n(ph))\">\n"
            body += panel.body(width: pw, height: ph, idPrefix: "panel\(i)")
            body += "</svg>\n"
        }
        return SVGDocument.wrap(body: body, width: w, height: h, title: title)
    }
}
