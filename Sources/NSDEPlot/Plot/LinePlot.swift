/// A 2-D line chart: titled axes, any number of ``Series``, nice ticks, grid lines and a legend,
/// rendered as dependency-free SVG.
///
/// ```swift
/// var plot = LinePlot(title: "Accuracy under PGD", xLabel: "ε (L∞, pixel scale 0–1)", yLabel: "accuracy (%)")
/// plot.series.append(Series(name: "ODE", x: eps, y: odeAccuracy, marker: .circle))
/// plot.series.append(Series(name: "SDE (dropout)", x: eps, y: sdeAccuracy, color: .palette(1), marker: .square))
/// try plot.write(to: URL(fileURLWithPath: "fig3.svg"))
/// ```
///
/// Axis ranges default to the data's range widened to the nearest nice ticks (see
/// ``AxisTicks``); ``xRange`` and ``yRange`` fix them instead, and lines leaving a fixed range are
/// cut at the plot area's edge. Points with a non-finite coordinate, or a non-positive one on a
/// log axis, are skipped and break their line. All text is escaped, so any names are safe.
///
/// - Note: Layout uses estimated text widths (0.6 em per character), as SVG has no text
///   measurement; very long labels may overlap neighbouring elements but never make the SVG invalid.
public struct LinePlot: SVGRenderable, Sendable {
    /// The title above the plot area; empty for none.
    public var title: String
    /// The x-axis label, with units, e.g. `"t (model time units)"`; empty for none.
    public var xLabel: String
    /// The y-axis label, with units; empty for none.
    public var yLabel: String
    /// The lines, drawn in order (later ones on top).
    public var series: [Series]
    /// The x axis's scale (default linear).
    public var xScale: AxisScale
    /// The y axis's scale (default linear); ``AxisScale/log10`` skips non-positive values.
    public var yScale: AxisScale
    /// A fixed x range in data units, or `nil` to fit the data. On a log axis a non-positive lower
    /// bound is replaced (see ``AxisTicks/log10(within:targetCount:)``).
    public var xRange: ClosedRange<Double>?
    /// A fixed y range in data units, or `nil` to fit the data (only points inside a fixed
    /// ``xRange`` count).
    public var yRange: ClosedRange<Double>?
    /// The image width in px (SVG user units); at least 120 is used.
    public var width: Double
    /// The image height in px; at least 100 is used.
    public var height: Double
    /// Whether to draw grid lines at the ticks (default `true`).
    public var showsGrid: Bool
    /// Where to draw the legend (default ``LegendPlacement/best``, inside the emptiest corner); it
    /// lists the series with a non-empty name and ``Series/showsInLegend``, and is omitted when
    /// there are none.
    public var legend: LegendPlacement

    /// Creates a plot.
    ///
    /// - Parameters:
    ///   - title: title text (default none).
    ///   - xLabel: x-axis label with units (default none).
    ///   - yLabel: y-axis label with units (default none).
    ///   - series: the lines (default none; append to ``series`` later).
    ///   - xScale: x-axis scale (default linear).
    ///   - yScale: y-axis scale (default linear).
    ///   - xRange: fixed x range, or `nil` to fit the data.
    ///   - yRange: fixed y range, or `nil` to fit the data.
    ///   - width: image width in px (default 720).
    ///   - height: image height in px (default 450).
    ///   - showsGrid: grid lines at the ticks (default `true`).
    ///   - legend: legend placement (default ``LegendPlacement/best``).
    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
                xScale: AxisScale = .linear, yScale: AxisScale = .linear,
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                width: Double = 720, height: Double = 450, showsGrid: Bool = true, legend: LegendPlacement = .best) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
        self.xRange = xRange
        self.yRange = yRange
        self.width = width
        self.height = height
        self.showsGrid = showsGrid
        self.legend = legend
    }

    /// The complete SVG document (``SVGRenderable``), `width` × `height` px.
    public func svgString() -> String {
        let (w, h) = (max(width, 120), max(height, 100))
        return SVGDocument.wrap(body: body(width: w, height: h, idPrefix: "plot"), width: w, height: h, title: title)
    }
}
