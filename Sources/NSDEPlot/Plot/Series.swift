/// One line of a ``LinePlot``: named data points and how to draw them.
///
/// Points are drawn in order, joined by straight segments. A point with a non-finite coordinate
/// (NaN, ±∞), or a non-positive one on a ``AxisScale/log10`` axis, is skipped and breaks the line
/// there; it never reaches the SVG.
public struct Series: Sendable {
    /// The legend label (any text; escaped when written). Empty names are left out of the legend.
    public var name: String
    /// The data points `(x, y)` in data units, in drawing order.
    public var points: [(x: Double, y: Double)]
    /// The stroke, fill and marker colour.
    public var color: PlotColor
    /// The line width in px (SVG user units); 0 draws markers only. Negative values count as 0.
    public var strokeWidth: Double
    /// Opacity of line and markers, 0 (invisible) to 1 (opaque); values outside are clamped.
    public var opacity: Double
    /// Whether the line is dashed (dash and gap lengths scale with ``strokeWidth``).
    public var dashed: Bool
    /// A symbol drawn at every drawable point, or `nil` for none.
    public var marker: Marker?
    /// The marker's radius in px (half its width).
    public var markerSize: Double
    /// Whether the series has a legend entry (also requires a non-empty ``name``). Turn it off for
    /// many similar lines, such as sample paths, and name one representative.
    public var showsInLegend: Bool

    /// Creates a series from `(x, y)` pairs.
    ///
    /// - Parameters:
    ///   - name: legend label.
    ///   - points: `(x, y)` in data units, in drawing order.
    ///   - color: stroke colour (default the first palette colour).
    ///   - strokeWidth: line width in px (default 1.5).
    ///   - opacity: 0...1 (default 1).
    ///   - dashed: dashed line (default `false`).
    ///   - marker: point symbol (default none).
    ///   - markerSize: marker radius in px (default 3).
    ///   - showsInLegend: whether to list it in the legend (default `true`).
    public init(name: String, points: [(x: Double, y: Double)], color: PlotColor = .palette(0),
                strokeWidth: Double = 1.5, opacity: Double = 1, dashed: Bool = false, marker: Marker? = nil,
                markerSize: Double = 3, showsInLegend: Bool = true) {
        self.name = name
        self.points = points
        self.color = color
        self.strokeWidth = strokeWidth
        self.opacity = opacity
        self.dashed = dashed
        self.marker = marker
        self.markerSize = markerSize
        self.showsInLegend = showsInLegend
    }

    /// Creates a series from separate coordinate arrays, paired index by index.
    ///
    /// - Parameters:
    ///   - x: x coordinates `[n]`, data units.
    ///   - y: y coordinates `[n]`, data units; must have `x`'s count (precondition).
    ///   - Other parameters: as ``init(name:points:color:strokeWidth:opacity:dashed:marker:markerSize:showsInLegend:)``.
    public init(name: String, x: [Double], y: [Double], color: PlotColor = .palette(0),
                strokeWidth: Double = 1.5, opacity: Double = 1, dashed: Bool = false, marker: Marker? = nil,
                markerSize: Double = 3, showsInLegend: Bool = true) {
        precondition(x.count == y.count, "Series '\(name)': \(x.count) x values but \(y.count) y values")
        self.init(name: name, points: zip(x, y).map { (x: $0, y: $1) }, color: color, strokeWidth: strokeWidth,
                  opacity: opacity, dashed: dashed, marker: marker, markerSize: markerSize, showsInLegend: showsInLegend)
    }
}
