import Foundation
import XCTest
@testable import NSDEPlot

final class AxisTicksTests: XCTestCase {
    /// Data ranges from ordinary to awkward: negative, tiny, huge, degenerate, reversed, offset.
    static let ranges: [(Double, Double)] = [
        (0, 1), (0, 5), (0, 148.4), (-14.6, 3.2), (0.3, 0.7), (-1e-7, 3e-7), (1e6, 7.5e6), (42, 42), (0, 0),
        (5, -5), (1e10, 1e10 + 3), (-273.15, -200), (0.001, 0.0012), (-1e300, 1e300),
    ]

    /// Whether `step` is 1, 2, 2.5 or 5 × 10ᵏ (within float rounding).
    func isNice(_ step: Double) -> Bool {
        let exponent = log10(step).rounded(.down)
        let mantissa = step / pow(10, exponent)
        return [1, 2, 2.5, 5, 10].contains { abs(mantissa - $0) < 1e-9 }
    }

    /// Linear ticks: the step is 1, 2, 2.5 or 5 × 10ᵏ, ticks are evenly spaced at multiples of the step,
    /// the first tick is at or below the data minimum and the last at or above the maximum (within
    /// 10⁻⁹ of the span: float rounding), and their number is near the target (3...13 for 6).
    func testLinearTicksAreNiceAndCoverTheData() {
        for (lo, hi) in Self.ranges {
            let t = AxisTicks.linear(covering: lo, hi, targetCount: 6)
            let (a, b) = (min(lo, hi), max(lo, hi))
            let tol = max(b - a, abs(a), 1) * 1e-9
            XCTAssertTrue(isNice(t.step), "step \(t.step) for \(lo)...\(hi)")
            XCTAssertLessThanOrEqual(t.values.first!, a + tol, "\(lo)...\(hi): \(t.values)")
            XCTAssertGreaterThanOrEqual(t.values.last!, b - tol, "\(lo)...\(hi): \(t.values)")
            XCTAssertTrue(t.range.contains(a) && t.range.contains(b), "\(t.range) for \(lo)...\(hi)")
            XCTAssertLessThan(t.range.lowerBound, t.range.upperBound)
            XCTAssertTrue((3...13).contains(t.values.count), "\(t.values.count) ticks for \(lo)...\(hi): \(t.values)")
            XCTAssertEqual(t.labels.count, t.values.count)
            for v in t.values {
                XCTAssertEqual((v / t.step).rounded(), v / t.step, accuracy: 1e-6, "\(v) is not a multiple of \(t.step)")
            }
            XCTAssertEqual(Set(t.labels).count, t.labels.count, "labels must differ: \(t.labels)")
        }
    }

    /// Labels read as the values they mark, with the same decimals along an axis: "0.3" not
    /// "0.30000000000000004", "0.0" not "-0.0", and exponent form for huge values.
    func testLinearLabelsAreShortAndExact() {
        XCTAssertEqual(AxisTicks.linear(covering: 0.3, 0.7, targetCount: 5).labels, ["0.3", "0.4", "0.5", "0.6", "0.7"])
        XCTAssertEqual(AxisTicks.linear(covering: 0, 100, targetCount: 6).labels, ["0", "20", "40", "60", "80", "100"])
        XCTAssertEqual(AxisTicks.linear(covering: -1, 1, targetCount: 5).labels, ["-1.0", "-0.5", "0.0", "0.5", "1.0"])
        XCTAssertEqual(AxisTicks.linear(covering: 0, 4e6, targetCount: 5).labels, ["0", "1e6", "2e6", "3e6", "4e6"])
        for t in Self.ranges.map({ AxisTicks.linear(covering: $0.0, $0.1) }) {
            for label in t.labels {
                XCTAssertFalse(label == "-0" || label.hasPrefix("-0.0") && Double(label) == 0, label)
                XCTAssertLessThanOrEqual(label.count, 18, label)
            }
        }
    }

    /// A fixed range is kept as the axis range and every tick lies inside it.
    func testTicksWithinFixedRangeStayInside() {
        for (lo, hi) in [(0.0, 1.0), (-0.35, 0.35), (2.5, 97.5), (0.0, 0.031)] {
            let t = AxisTicks.linear(within: lo...hi)
            XCTAssertEqual(t.range, lo...hi)
            XCTAssertFalse(t.values.isEmpty)
            for v in t.values { XCTAssertTrue(v >= lo - 1e-12 && v <= hi + 1e-12, "\(v) outside \(lo)...\(hi)") }
        }
        let log = AxisTicks.log10(within: 0.5...2000)
        XCTAssertEqual(log.values, [1, 10, 100, 1000])
        XCTAssertEqual(log.range, 0.5...2000)
    }

    /// Log ticks are powers of ten covering the data (with 2 and 5 inside one decade), labelled
    /// plainly for moderate values and in exponent form otherwise.
    func testLogTicksArePowersOfTenCoveringTheData() {
        let t = AxisTicks.log10(covering: 0.03, 148)
        XCTAssertEqual(t.values, [0.01, 0.1, 1, 10, 100, 1000])
        XCTAssertEqual(t.labels, ["0.01", "0.1", "1", "10", "100", "1000"])
        XCTAssertEqual(AxisTicks.log10(covering: 2, 8).values, [1, 2, 5, 10])
        let wide = AxisTicks.log10(covering: 1e-12, 1e12)
        XCTAssertLessThanOrEqual(wide.values.first!, 1e-12)
        XCTAssertGreaterThanOrEqual(wide.values.last!, 1e12)
        XCTAssertLessThanOrEqual(wide.values.count, 8)
        XCTAssertTrue(wide.labels.contains("1e-12"), "\(wide.labels)")
        XCTAssertEqual(AxisTicks.log10(covering: 1000, 1000).values.first, 1000)
    }

    /// Non-positive or non-finite bounds on a log axis are replaced, never producing NaN ticks.
    func testLogTicksSurviveNonPositiveBounds() {
        for (lo, hi) in [(-5.0, 100.0), (0, 0), (-3, -1), (.nan, 10), (0, .infinity)] {
            let t = AxisTicks.log10(covering: lo, hi)
            XCTAssertFalse(t.values.isEmpty, "\(lo)...\(hi)")
            XCTAssertTrue(t.values.allSatisfy { $0 > 0 && $0.isFinite }, "\(lo)...\(hi): \(t.values)")
            XCTAssertGreaterThan(t.range.lowerBound, 0)
        }
    }
}

extension AxisTicksTests {
    /// The step balances little wasted axis against the tick count: t ∈ [0, 5] with three ticks
    /// is 0, 2.5, 5 (not 0…6 by 2), and 0…148 is 0…150 by 50.
    func testStepAvoidsWastedAxis() {
        let t = AxisTicks.linear(covering: 0, 5, targetCount: 3)
        XCTAssertEqual(t.values, [0, 2.5, 5])
        XCTAssertEqual(t.labels, ["0.0", "2.5", "5.0"])
        XCTAssertEqual(AxisTicks.linear(covering: 0, 148.4, targetCount: 6).values, [0, 50, 100, 150])
        XCTAssertEqual(AxisTicks.linear(covering: 0, 0.75, targetCount: 4).labels, ["0.00", "0.25", "0.50", "0.75"])
    }
}
