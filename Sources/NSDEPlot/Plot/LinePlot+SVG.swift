import Foundation

// MARK: - Layout

extension LinePlot {
    /// Where everything goes for one rendering: pixel rectangle of the plot area, the ticks and
    /// the legend box.
    struct Layout {
        var left: Double, top: Double, right: Double, bottom: Double
        var xTicks: AxisTicks, yTicks: AxisTicks
        var legendEntries: [Series]
        /// The legend box (px); zero size when there is no legend.
        var legendX = 0.0, legendY = 0.0, legendWidth = 0.0, legendHeight = 0.0
        var plotWidth: Double { right - left }
        var plotHeight: Double { bottom - top }
    }

    static let fontSize = 12.0
    static let titleFontSize = 14.0

    /// Whether `v` can be placed on an axis with `scale`.
    static func placeable(_ v: Double, _ scale: AxisScale) -> Bool {
        v.isFinite && (scale == .linear || v > 0)
    }

    /// `v` in the axis's linear coordinate (log₁₀ for log axes).
    static func transform(_ v: Double, _ scale: AxisScale) -> Double {
        scale == .log10 ? Foundation.log10(v) : v
    }

    /// Ticks for one axis: fitted to `values` or kept to `fixed`.
    static func ticks(values: [Double], fixed: ClosedRange<Double>?, scale: AxisScale, target: Int) -> AxisTicks {
        if let fixed, fixed.lowerBound.isFinite, fixed.upperBound.isFinite, fixed.lowerBound < fixed.upperBound,
           scale == .linear || fixed.upperBound > 0 {
            return scale == .log10 ? AxisTicks.log10(within: fixed, targetCount: target)
                                   : AxisTicks.linear(within: fixed, targetCount: target)
        }
        let lo = values.min(), hi = values.max()
        switch scale {
        case .linear: return AxisTicks.linear(covering: lo ?? 0, hi ?? 1, targetCount: target)
        case .log10: return AxisTicks.log10(covering: lo ?? 1, hi ?? 10, targetCount: target)
        }
    }

    /// Computes margins, ticks and the legend size for a `width` × `height` px image.
    func layout(width: Double, height: Double) -> Layout {
        let fs = Self.fontSize
        // Data ranges from drawable points (inside a fixed x range, for y).
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for p in s.points where Self.placeable(p.x, xScale) && Self.placeable(p.y, yScale) {
                xs.append(p.x)
                if let r = xRange, r.lowerBound < r.upperBound, !(r.contains(p.x)) { continue }
                ys.append(p.y)
            }
        }
        let top = title.isEmpty ? 14 : 40.0
        let bottom = height - (10 + 6 + fs * 1.4 + (xLabel.isEmpty ? 0 : fs * 1.8))
        let yTarget = min(8, max(3, Int((bottom - top) / 60)))
        let yTicks = Self.ticks(values: ys, fixed: yRange, scale: yScale, target: yTarget)

        let entries = legend == .none ? [] : series.filter { $0.showsInLegend && !$0.name.isEmpty }
        let naturalWidth = 12 + 26 + 6 + (entries.map { SVGText.width($0.name, fontSize: fs) }.max() ?? 0) + 10
        let legendHeight = Double(entries.count) * fs * 1.6 + 8
        let yLabelWidth = yTicks.labels.map { SVGText.width($0, fontSize: fs) }.max() ?? 0
        let left = 8 + (yLabel.isEmpty ? 0 : fs * 1.8) + yLabelWidth + 10
        let insideRight = width - 20
        let inside = legend == .best && naturalWidth <= 0.6 * (insideRight - left) && legendHeight <= 0.6 * (bottom - top)
        let legendWidth = entries.isEmpty ? 0 : inside ? naturalWidth : min(naturalWidth, width * 0.4)
        let right = inside || entries.isEmpty ? insideRight : width - (legendWidth + 18)
        let xTarget = min(10, max(3, Int((right - left) / 80)))
        let xTicks = Self.ticks(values: xs, fixed: xRange, scale: xScale, target: xTarget)
        var L = Layout(left: left, top: top, right: max(right, left + 10), bottom: max(bottom, top + 10),
                       xTicks: xTicks, yTicks: yTicks, legendEntries: entries)
        guard !entries.isEmpty else { return L }
        L.legendWidth = legendWidth
        L.legendHeight = legendHeight
        if inside {
            (L.legendX, L.legendY) = bestLegendCorner(L)
        } else {
            (L.legendX, L.legendY) = (L.right + 12, L.top)
        }
        return L
    }

    /// The top-left corner of the legend box inside the plot area: the corner (upper right, upper
    /// left, lower left, lower right) whose box crosses the fewest segments and markers.
    func bestLegendCorner(_ L: Layout) -> (Double, Double) {
        let inset = 8.0
        let corners = [(L.right - inset - L.legendWidth, L.top + inset), (L.left + inset, L.top + inset),
                       (L.left + inset, L.bottom - inset - L.legendHeight),
                       (L.right - inset - L.legendWidth, L.bottom - inset - L.legendHeight)]
        var best = corners[0], fewest = Int.max
        for corner in corners {
            let box = (x0: corner.0, y0: corner.1, x1: corner.0 + L.legendWidth, y1: corner.1 + L.legendHeight)
            var count = 0
            for s in series {
                var previous: (Double, Double)?
                for p in s.points {
                    let q = (pixelX(p.x, L), pixelY(p.y, L))
                    guard q.0.isFinite && q.1.isFinite else { previous = nil; continue }
                    if s.strokeWidth > 0, let a = previous, Self.clip(a, q, to: box) != nil { count += 1 }
                    if s.marker != nil, q.0 >= box.x0, q.0 <= box.x1, q.1 >= box.y0, q.1 <= box.y1 { count += 1 }
                    previous = q
                }
            }
            if count < fewest { (best, fewest) = (corner, count) }
            if count == 0 { break }
        }
        return best
    }
}

// MARK: - Rendering

extension LinePlot {
    /// The plot's SVG elements for a `width` × `height` px viewport, without the `<svg>` root;
    /// element ids start with `idPrefix` so several plots can share one document.
    func body(width: Double, height: Double, idPrefix: String) -> String {
        let L = layout(width: width, height: height)
        let n = SVGText.number
        let fs = Self.fontSize
        var s = ""
        s += "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        s += "<defs><clipPath id=\"\(idPrefix)-area\"><rect x=\"\(n(L.left))\" y=\"\(n(L.top))\" "
        s += "width=\"\(n(L.plotWidth))\" height=\"\(n(L.plotHeight))\"/></clipPath></defs>\n"
        if !title.isEmpty {
            s += "<text class=\"title\" x=\"\(n((L.left + L.right) / 2))\" y=\"\(n(L.top - 14))\" text-anchor=\"middle\" "
            s += "font-size=\"\(n(Self.titleFontSize))\" font-weight=\"bold\">\(SVGText.escape(title))</text>\n"
        }

        // Pixel positions of tick values.
        let xPix = { (v: Double) -> Double in self.pixelX(v, L) }
        let yPix = { (v: Double) -> Double in self.pixelY(v, L) }
        let xTicks = zip(L.xTicks.values, L.xTicks.labels).filter { xPix($0.0).isFinite }
        let yTicks = zip(L.yTicks.values, L.yTicks.labels).filter { yPix($0.0).isFinite }

        if showsGrid {
            s += "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n"
            for (v, _) in xTicks { s += "<line x1=\"\(n(xPix(v)))\" y1=\"\(n(L.top))\" x2=\"\(n(xPix(v)))\" y2=\"\(n(L.bottom))\"/>\n" }
            for (v, _) in yTicks { s += "<line x1=\"\(n(L.left))\" y1=\"\(n(yPix(v)))\" x2=\"\(n(L.right))\" y2=\"\(n(yPix(v)))\"/>\n" }
            s += "</g>\n"
        }

        // Axes: frame, tick marks and tick labels.
        s += "<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n"
        s += "<rect x=\"\(n(L.left))\" y=\"\(n(L.top))\" width=\"\(n(L.plotWidth))\" height=\"\(n(L.plotHeight))\" fill=\"none\"/>\n"
        for (v, _) in xTicks { s += "<line x1=\"\(n(xPix(v)))\" y1=\"\(n(L.bottom))\" x2=\"\(n(xPix(v)))\" y2=\"\(n(L.bottom + 5))\"/>\n" }
        for (v, _) in yTicks { s += "<line x1=\"\(n(L.left - 5))\" y1=\"\(n(yPix(v)))\" x2=\"\(n(L.left))\" y2=\"\(n(yPix(v)))\"/>\n" }
        s += "</g>\n"
        s += "<g class=\"tick-labels\" fill=\"#333333\">\n"
        for (v, label) in xTicks {
            s += "<text x=\"\(n(xPix(v)))\" y=\"\(n(L.bottom + 8 + fs))\" text-anchor=\"middle\">\(SVGText.escape(label))</text>\n"
        }
        for (v, label) in yTicks {
            s += "<text x=\"\(n(L.left - 8))\" y=\"\(n(yPix(v)))\" dy=\"0.35em\" text-anchor=\"end\">\(SVGText.escape(label))</text>\n"
        }
        s += "</g>\n"
        if !xLabel.isEmpty {
            s += "<text class=\"x-label\" x=\"\(n((L.left + L.right) / 2))\" y=\"\(n(L.bottom + 8 + fs + fs * 1.6))\" "
            s += "text-anchor=\"middle\">\(SVGText.escape(xLabel))</text>\n"
        }
        if !yLabel.isEmpty {
            let (x, y) = (8 + fs, (L.top + L.bottom) / 2)
            s += "<text class=\"y-label\" x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"middle\" "
            s += "transform=\"rotate(-90 \(n(x)) \(n(y)))\">\(SVGText.escape(yLabel))</text>\n"
        }

        // Series, clipped to the plot area.
        s += "<g class=\"series\" clip-path=\"url(#\(idPrefix)-area)\">\n"
        for series in series { s += seriesElements(series, L) }
        s += "</g>\n"

        if !L.legendEntries.isEmpty { s += legend(L) }
        return s
    }

    /// The x pixel of data value `v` (non-finite when `v` cannot be placed).
    func pixelX(_ v: Double, _ L: Layout) -> Double {
        guard Self.placeable(v, xScale) else { return .nan }
        let lo = Self.transform(L.xTicks.range.lowerBound, xScale), hi = Self.transform(L.xTicks.range.upperBound, xScale)
        return L.left + (Self.transform(v, xScale) - lo) / (hi - lo) * L.plotWidth
    }

    /// The y pixel of data value `v` (non-finite when `v` cannot be placed).
    func pixelY(_ v: Double, _ L: Layout) -> Double {
        guard Self.placeable(v, yScale) else { return .nan }
        let lo = Self.transform(L.yTicks.range.lowerBound, yScale), hi = Self.transform(L.yTicks.range.upperBound, yScale)
        return L.bottom - (Self.transform(v, yScale) - lo) / (hi - lo) * L.plotHeight
    }

    /// The `<path>` (and markers) of one series: undrawable points break the line, and segments
    /// are cut to the plot area (padded by the stroke width).
    func seriesElements(_ series: Series, _ L: Layout) -> String {
        let n = SVGText.number
        let strokeWidth = max(0, series.strokeWidth.isFinite ? series.strokeWidth : 0)
        let opacity = min(1, max(0, series.opacity.isFinite ? series.opacity : 1))
        let pad = strokeWidth + 2
        let box = (x0: L.left - pad, y0: L.top - pad, x1: L.right + pad, y1: L.bottom + pad)
        let pixels: [(Double, Double)?] = series.points.map { p in
            let q = (pixelX(p.x, L), pixelY(p.y, L))
            return q.0.isFinite && q.1.isFinite ? q : nil
        }
        var s = ""
        if strokeWidth > 0 {
            var d = ""
            var pen: (Double, Double)?
            var previous: (Double, Double)?
            for q in pixels {
                guard let q else { previous = nil; continue }
                if let a = previous, let (c0, c1) = Self.clip(a, q, to: box) {
                    if pen == nil || pen! != c0 { d += "M\(n(c0.0)) \(n(c0.1))" }
                    d += "L\(n(c1.0)) \(n(c1.1))"
                    pen = c1
                }
                previous = q
            }
            if !d.isEmpty {
                s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(series.color.hex)\" stroke-width=\"\(n(strokeWidth))\" "
                if opacity < 1 { s += "stroke-opacity=\"\(n(opacity))\" " }
                if series.dashed { s += "stroke-dasharray=\"\(n(4 * strokeWidth + 2)) \(n(2 * strokeWidth + 2))\" " }
                s += "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n"
            }
        }
        if let marker = series.marker {
            let r = max(0.5, series.markerSize.isFinite ? series.markerSize : 3)
            var m = ""
            for case let q? in pixels where q.0 >= L.left - r && q.0 <= L.right + r && q.1 >= L.top - r && q.1 <= L.bottom + r {
                m += Self.markerElement(marker, at: q, radius: r)
            }
            if !m.isEmpty {
                s += "<g fill=\"\(series.color.hex)\" stroke=\"\(series.color.hex)\"\(opacity < 1 ? " opacity=\"\(n(opacity))\"" : "")>\n"
                s += m + "</g>\n"
            }
        }
        return s
    }

    /// One marker centred at `q` with radius `r` px.
    static func markerElement(_ marker: Marker, at q: (Double, Double), radius r: Double) -> String {
        let n = SVGText.number
        let (x, y) = q
        switch marker {
        case .circle:
            return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" stroke=\"none\"/>\n"
        case .square:
            return "<rect x=\"\(n(x - r))\" y=\"\(n(y - r))\" width=\"\(n(2 * r))\" height=\"\(n(2 * r))\" stroke=\"none\"/>\n"
        case .triangle:
            return "<path d=\"M\(n(x)) \(n(y - r * 1.15))L\(n(x + r)) \(n(y + r * 0.85))L\(n(x - r)) \(n(y + r * 0.85))Z\" stroke=\"none\"/>\n"
        case .diamond:
            return "<path d=\"M\(n(x)) \(n(y - r * 1.3))L\(n(x + r * 1.3)) \(n(y))L\(n(x)) \(n(y + r * 1.3))L\(n(x - r * 1.3)) \(n(y))Z\" stroke=\"none\"/>\n"
        case .cross:
            return "<path d=\"M\(n(x - r)) \(n(y - r))L\(n(x + r)) \(n(y + r))M\(n(x - r)) \(n(y + r))L\(n(x + r)) \(n(y - r))\" "
                + "fill=\"none\" stroke-width=\"1.5\"/>\n"
        }
    }

    /// The segment `a`–`b` cut to the rectangle `box` (Liang–Barsky), or `nil` if it lies outside.
    static func clip(_ a: (Double, Double), _ b: (Double, Double),
                     to box: (x0: Double, y0: Double, x1: Double, y1: Double)) -> ((Double, Double), (Double, Double))? {
        let dx = b.0 - a.0, dy = b.1 - a.1
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, a.0 - box.x0), (dx, box.x1 - a.0), (-dy, a.1 - box.y0), (dy, box.y1 - a.1)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { if r > t1 { return nil }; if r > t0 { t0 = r } }
                else { if r < t0 { return nil }; if r < t1 { t1 = r } }
            }
        }
        let start = t0 == 0 ? a : (a.0 + t0 * dx, a.1 + t0 * dy)
        let end = t1 == 1 ? b : (a.0 + t1 * dx, a.1 + t1 * dy)
        return (start, end)
    }

    /// The legend box right of the plot area: a line sample (with marker) and the name per entry.
    func legend(_ L: Layout) -> String {
        let n = SVGText.number
        let fs = Self.fontSize
        let rowHeight = fs * 1.6
        let (x, y, h) = (L.legendX, L.legendY, L.legendHeight)
        let maxChars = max(1, Int((L.legendWidth - 12 - 26 - 6 - 10) / (fs * 0.6)))
        var s = "<g class=\"legend\">\n"
        s += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(L.legendWidth))\" height=\"\(n(h))\" fill=\"#ffffff\" "
        s += "fill-opacity=\"0.9\" stroke=\"#cccccc\"/>\n"
        for (i, entry) in L.legendEntries.enumerated() {
            let cy = y + 4 + rowHeight * (Double(i) + 0.5)
            let x0 = x + 8, x1 = x + 8 + 26
            let strokeWidth = max(0, entry.strokeWidth.isFinite ? entry.strokeWidth : 0)
            let opacity = min(1, max(0, entry.opacity.isFinite ? entry.opacity : 1))
            if strokeWidth > 0 {
                s += "<line x1=\"\(n(x0))\" y1=\"\(n(cy))\" x2=\"\(n(x1))\" y2=\"\(n(cy))\" stroke=\"\(entry.color.hex)\" "
                s += "stroke-width=\"\(n(min(strokeWidth, 4)))\" stroke-opacity=\"\(n(max(opacity, 0.6)))\""
                if entry.dashed { s += " stroke-dasharray=\"\(n(4 * min(strokeWidth, 4) + 2)) \(n(2 * min(strokeWidth, 4) + 2))\"" }
                s += "/>\n"
            }
            if let marker = entry.marker {
                s += "<g fill=\"\(entry.color.hex)\" stroke=\"\(entry.color.hex)\">"
                s += Self.markerElement(marker, at: ((x0 + x1) / 2, cy), radius: min(max(entry.markerSize, 1), 5))
                s += "</g>\n"
            }
            var name = entry.name
            if name.count > maxChars { name = String(name.prefix(max(1, maxChars - 1))) + "…" }
            s += "<text x=\"\(n(x1 + 6))\" y=\"\(n(cy))\" dy=\"0.35em\" fill=\"#222222\">\(SVGText.escape(name))</text>\n"
        }
        s += "</g>\n"
        return s
    }
}
