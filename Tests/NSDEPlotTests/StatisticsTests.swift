import XCTest
@testable import NSDEPlot

/// Statistics of the seed comparisons against values computed by hand.
final class StatisticsTests: XCTestCase {
    func testStudentTQuantiles() {
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 1), 12.7062047, accuracy: 1e-7)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 2), 4.3026527, accuracy: 1e-7)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 30), 2.0422725, accuracy: 1e-7)
        // Beyond the table: scipy.stats.t.ppf(0.975, ν).
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 40), 2.0210754, accuracy: 1e-5)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 100), 1.9839715, accuracy: 1e-5)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 100_000), ConfidenceInterval.z95, accuracy: 1e-4)
    }

    func testMeanStandardDeviationAndTInterval() throws {
        // 0.70, 0.72, 0.74: mean 0.72, s = 0.02, SE = 0.02/√3, t(2) = 4.3026527.
        let s = SampleStatistics([0.70, 0.72, 0.74])
        XCTAssertEqual(s.mean, 0.72, accuracy: 1e-12)
        XCTAssertEqual(s.standardDeviation, 0.02, accuracy: 1e-12)
        let ci = try XCTUnwrap(s.tInterval95)
        let half = 4.3026527 * 0.02 / 3.0.squareRoot()
        XCTAssertEqual(ci.lower, 0.72 - half, accuracy: 1e-9)
        XCTAssertEqual(ci.upper, 0.72 + half, accuracy: 1e-9)
        XCTAssertNil(SampleStatistics([0.5]).tInterval95, "one seed has no interval")
    }

    func testPairedDifferenceBySeed() throws {
        // SDE 0.70, 0.74, 0.725 vs ODE 0.68, 0.71, 0.70: differences 0.02, 0.03, 0.025.
        let d = PairedDifference([0.70, 0.74, 0.725], minus: [0.68, 0.71, 0.70])
        XCTAssertEqual(d.differences[0], 0.02, accuracy: 1e-12)
        XCTAssertEqual(d.differences[1], 0.03, accuracy: 1e-12)
        XCTAssertEqual(d.mean, 0.025, accuracy: 1e-12)
        // s² = (0.005² + 0.005² + 0) / 2 → s = 0.005; half-width t(2) · s / √3 = 0.0124206.
        XCTAssertEqual(d.statistics.standardDeviation, 0.005, accuracy: 1e-12)
        let ci = try XCTUnwrap(d.interval95)
        XCTAssertEqual(ci.lower, 0.025 - 4.3026527 * 0.005 / 3.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(ci.upper, 0.025 + 4.3026527 * 0.005 / 3.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(d.verdict, .better, "the interval [\(ci.lower), \(ci.upper)] lies above 0")
        // 0.02, 0.04, 0.02: mean 0.0267 but s = 0.0115, so the interval [−0.0020, 0.0554] contains 0.
        XCTAssertEqual(PairedDifference([0.70, 0.75, 0.72], minus: [0.68, 0.71, 0.70]).verdict, .inconclusive)
        XCTAssertEqual(PairedDifference([0.70, 0.66], minus: [0.68, 0.70]).verdict, .inconclusive)
        XCTAssertEqual(PairedDifference([0.60, 0.61, 0.60], minus: [0.70, 0.70, 0.71]).verdict, .worse)
        XCTAssertEqual(PairedDifference([0.9], minus: [0.1]).verdict, .inconclusive, "one pair: no interval")
    }

    func testPairedAccuracyDifferenceOnTheSameImages() {
        // 10 images: both right on 6, only the first on 3, only the second on 1 → d = 0.2.
        let labels = Array(repeating: 1, count: 10)
        let first = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
        let second = [1, 1, 1, 1, 1, 1, 0, 0, 0, 1]
        let d = PairedAccuracyDifference(first: first, second: second, labels: labels)
        XCTAssertEqual(d.onlyFirst, 3)
        XCTAssertEqual(d.onlySecond, 1)
        XCTAssertEqual(d.difference, 0.2, accuracy: 1e-12)
        // SE = √(3 + 1 − 2²/10) / 10 = √3.6 / 10.
        let half = ConfidenceInterval.z95 * 3.6.squareRoot() / 10
        XCTAssertEqual(d.interval95.lower, 0.2 - half, accuracy: 1e-12)
        XCTAssertEqual(d.interval95.upper, 0.2 + half, accuracy: 1e-12)
    }
}
