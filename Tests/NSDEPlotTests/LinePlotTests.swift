import Foundation
import NSDETestSupport
import XCTest
@testable import NSDEPlot

final class LinePlotTests: XCTestCase {
    /// A plot with two named series, markers, a dashed line and text that needs escaping.
    func samplePlot() -> LinePlot {
        let x = (0...20).map { Double($0) * 0.25 }
        return LinePlot(title: "Accuracy & robustness <PGD>", xLabel: "ε \"L∞\"", yLabel: "accuracy (%)", series: [
            Series(name: "ODE & <friends>", x: x, y: x.map { 90 - 10 * $0 }, marker: .circle),
            Series(name: "SDE \"dropout\" 'σ'", x: x, y: x.map { 90 - 6 * $0 }, color: .palette(1), dashed: true,
                   marker: .square),
            Series(name: "hidden", x: x, y: x.map { 80 - $0 }, color: .palette(2), marker: .triangle, showsInLegend: false),
            Series(name: "scatter", x: [1, 2], y: [50, 60], color: .palette(3), strokeWidth: 0, marker: .cross),
            Series(name: "diamonds", x: [3, 4], y: [55, 65], color: .palette(4), marker: .diamond),
        ])
    }

    /// The SVG parses as XML with an `<svg>` root, and has the title, axis labels, one path per
    /// line series and one marker per point.
    func testSVGIsWellFormedXML() throws {
        let svg = samplePlot().svgString()
        let xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error, "\(String(describing: xml.error))\n\(svg)")
        XCTAssertEqual(xml.elements.first, "svg")
        XCTAssertEqual(xml.attributes.first?["xmlns"], "http://www.w3.org/2000/svg")
        XCTAssertTrue(xml.texts.contains("Accuracy & robustness <PGD>"))
        XCTAssertTrue(xml.texts.contains("ε \"L∞\""))
        XCTAssertTrue(xml.texts.contains("accuracy (%)"))
        XCTAssertEqual(xml.elements.filter { $0 == "circle" }.count, 21 + 1)    // ODE markers + its legend entry
        XCTAssertEqual(xml.elements.filter { $0 == "clipPath" }.count, 1)
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), "no non-finite numbers may reach the SVG")
    }

    /// Legend names appear escaped in the text and unescaped after parsing; a series with
    /// `showsInLegend == false` has no entry.
    func testLegendNamesAreEscaped() throws {
        let svg = samplePlot().svgString()
        XCTAssertTrue(svg.contains("ODE &amp; &lt;friends&gt;"), svg)
        XCTAssertTrue(svg.contains("SDE &quot;dropout&quot; &apos;σ&apos;"), svg)
        XCTAssertTrue(svg.contains("<title>Accuracy &amp; robustness &lt;PGD&gt;</title>"))
        XCTAssertFalse(svg.contains("ODE & <friends>"))
        let xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        XCTAssertTrue(xml.texts.contains("ODE & <friends>"))
        XCTAssertTrue(xml.texts.contains("SDE \"dropout\" 'σ'"))
        XCTAssertFalse(xml.texts.contains("hidden"))
        XCTAssertTrue(xml.texts.contains("scatter"))
    }

    /// Characters XML forbids (control characters) are replaced, keeping the document parseable.
    func testControlCharactersAreReplaced() {
        let plot = LinePlot(title: "bell\u{7} and nul\u{0}", series: [Series(name: "esc\u{1B}[0m", x: [0, 1], y: [0, 1])])
        let xml = XMLCheck.parse(plot.svgString())
        XCTAssertNil(xml.error)
        XCTAssertTrue(xml.texts.contains("bell\u{FFFD} and nul\u{FFFD}"), "\(xml.texts)")
    }

    /// The axis ranges cover every finite data point and the ticks are those of ``AxisTicks``.
    func testAxesCoverTheData() {
        let plot = samplePlot()
        let layout = plot.layout(width: plot.width, height: plot.height)
        XCTAssertLessThanOrEqual(layout.xTicks.range.lowerBound, 0)
        XCTAssertGreaterThanOrEqual(layout.xTicks.range.upperBound, 5)
        XCTAssertLessThanOrEqual(layout.yTicks.range.lowerBound, 40)
        XCTAssertGreaterThanOrEqual(layout.yTicks.range.upperBound, 90)
        let svg = plot.svgString()
        for label in layout.xTicks.labels + layout.yTicks.labels { XCTAssertTrue(svg.contains(">\(label)</text>"), label) }
    }

    /// NaN and ±∞ points are skipped and break the line into separate subpaths (one `M` each).
    func testNonFinitePointsBreakTheLine() {
        let plot = LinePlot(series: [Series(name: "gappy", x: [0, 1, 2, 3, 4, 5, 6], y: [1, 2, .nan, 3, 4, .infinity, 5])])
        let svg = plot.svgString()
        let xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        let d = xml.pathData
        XCTAssertEqual(d.count, 1, "\(d)")
        XCTAssertEqual(d[0].filter { $0 == "M" }.count, 2, d[0])   // [0,1], [3,4]; the lone 6 draws nothing
        XCTAssertEqual(d[0].filter { $0 == "L" }.count, 2, d[0])
        XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"))
        let layout = plot.layout(width: plot.width, height: plot.height)
        XCTAssertGreaterThanOrEqual(layout.yTicks.range.upperBound, 5)
        XCTAssertLessThan(layout.yTicks.range.upperBound, 100, "∞ must not stretch the axis")
    }

    /// On a log y axis, zero and negative values are skipped (the line breaks) and do not distort
    /// the range; a series with no positive value at all leaves a valid, empty plot.
    func testLogScaleSkipsNonPositiveValues() {
        var plot = LinePlot(series: [Series(name: "mixed", x: [0, 1, 2, 3, 4, 5], y: [-1, 0, 1, 10, 100, 0.5])],
                            yScale: .log10)
        var svg = plot.svgString()
        var xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        XCTAssertEqual(xml.pathData.count, 1)
        XCTAssertEqual(xml.pathData[0].filter { $0 == "M" }.count, 1, xml.pathData[0])
        XCTAssertEqual(xml.pathData[0].filter { $0 == "L" }.count, 3, xml.pathData[0])
        let layout = plot.layout(width: plot.width, height: plot.height)
        XCTAssertEqual(layout.yTicks.values, [0.1, 1, 10, 100])
        XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"))

        plot.series = [Series(name: "none positive", x: [0, 1, 2], y: [0, -1, -2])]
        plot.yRange = -5...10     // a non-positive lower bound on a log axis is replaced
        svg = plot.svgString()
        xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        XCTAssertTrue(xml.pathData.isEmpty)
        XCTAssertTrue(xml.texts.contains("none positive"))
        XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"))
    }

    /// With fixed ranges, a line leaving the plot area is cut at its edge (no coordinate far
    /// outside), and the ticks stay inside the range.
    func testFixedRangesClipLines() {
        let plot = LinePlot(series: [Series(name: "steep", x: [0, 1, 2, 3], y: [0, 1e6, -1e300, 2])],
                            xRange: 0...3, yRange: 0...10, width: 600, height: 400)
        let layout = plot.layout(width: 600, height: 400)
        XCTAssertEqual(layout.yTicks.range, 0...10)
        XCTAssertTrue(layout.yTicks.values.allSatisfy { (0...10).contains($0) })
        let xml = XMLCheck.parse(plot.svgString())
        XCTAssertNil(xml.error)
        let numbers = xml.pathData.flatMap { $0.split(whereSeparator: { "ML ".contains($0) }).compactMap { Double($0) } }
        XCTAssertFalse(numbers.isEmpty)
        XCTAssertTrue(numbers.allSatisfy { $0 > -10 && $0 < 610 }, "\(numbers)")
    }

    /// A plot without data (or with only non-finite data) is still a valid document.
    func testEmptyPlotIsValid() {
        for plot in [LinePlot(), LinePlot(title: "nothing", series: [Series(name: "nan", x: [.nan], y: [.nan])])] {
            let svg = plot.svgString()
            XCTAssertNil(XMLCheck.parse(svg).error, svg)
            XCTAssertFalse(svg.lowercased().contains("nan\"") || svg.contains("inf"))
        }
    }

    /// Panels of a grid parse together, keep unique clip-path ids, and carry their own titles.
    func testGridComposesPanels() {
        var a = samplePlot(), b = samplePlot()
        a.title = "left"
        b.title = "right"
        let grid = PlotGrid(title: "two & two", panels: [a, b, a], columns: 2)
        let svg = grid.svgString()
        let xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        XCTAssertEqual(xml.elements.filter { $0 == "svg" }.count, 4)
        let ids = zip(xml.elements, xml.attributes).filter { $0.0 == "clipPath" }.compactMap { $0.1["id"] }
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertTrue(xml.texts.contains("two & two") && xml.texts.contains("left") && xml.texts.contains("right"))
        XCTAssertEqual(xml.attributes.first?["width"], "960")
        XCTAssertEqual(xml.attributes.first?["height"], "754")    // 34 title + 2 rows × 360
    }

    /// The legend goes inside, into the first free corner (a rising line leaves the upper left
    /// free), to the right of the plot area on request, or nowhere.
    func testLegendPlacement() {
        var plot = LinePlot(series: [Series(name: "rising", x: [0, 1, 2, 3], y: [0, 1, 2, 3])])
        var L = plot.layout(width: plot.width, height: plot.height)
        XCTAssertEqual(L.legendX, L.left + 8)
        XCTAssertEqual(L.legendY, L.top + 8)
        XCTAssertEqual(L.right, plot.width - 20)
        plot.legend = .right
        L = plot.layout(width: plot.width, height: plot.height)
        XCTAssertGreaterThan(L.legendX, L.right)
        XCTAssertNil(XMLCheck.parse(plot.svgString()).error)
        plot.legend = .none
        XCTAssertFalse(plot.svgString().contains("class=\"legend\""))
        XCTAssertFalse(XMLCheck.parse(plot.svgString()).texts.contains("rising"))
    }

    /// Colours parse from and print to "#rrggbb"; the palette cycles.
    func testPlotColorHex() {
        XCTAssertEqual(PlotColor(hex: "#1F77b4"), PlotColor.palette(0))
        XCTAssertEqual(PlotColor.palette(0).hex, "#1f77b4")
        XCTAssertEqual(PlotColor.palette(10), PlotColor.palette(0))
        XCTAssertEqual(PlotColor.palette(-1), PlotColor.palette(9))
        XCTAssertNil(PlotColor(hex: "#12345"))
        XCTAssertNil(PlotColor(hex: "zzzzzz"))
        XCTAssertEqual(PlotColor(red: 0, green: 10, blue: 255).hex, "#000aff")
    }
}
