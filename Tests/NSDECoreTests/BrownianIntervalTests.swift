import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// The virtual Brownian tree answers arbitrary queries consistently.
final class BrownianIntervalTests: XCTestCase {
    func testIncrementsAddUpAcrossASplitPoint() {
        let b = BrownianInterval(shape: [1000], t0: 0, t1: 3, seed: 4)
        for (s, t, u) in [(0.0, 1.3, 2.9), (0.123, 0.1234, 0.5), (1.0, 1.5, 3.0)] {
            let whole = b.increment(from: s, to: u).w.scalars
            let parts = zip(b.increment(from: s, to: t).w.scalars, b.increment(from: t, to: u).w.scalars).map { $0 + $1 }
            // W(s, u) = W(s, t) + W(t, u) up to float32 rounding of the three differences.
            for (x, y) in zip(whole, parts) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }

    func testSameQueryReturnsTheSameBitsInAnyOrder() {
        let a = BrownianInterval(shape: [257], t0: 0, t1: 1, seed: 8)
        let first = a.increment(from: 0.2, to: 0.7).w.scalars.map(\.bitPattern)
        for t in stride(from: 0.01, to: 1, by: 0.07) { _ = a.increment(from: 0, to: t) }   // evict the cache
        XCTAssertEqual(a.increment(from: 0.2, to: 0.7).w.scalars.map(\.bitPattern), first)
        let b = BrownianInterval(shape: [257], t0: 0, t1: 1, seed: 8)
        XCTAssertEqual(b.increment(from: 0.2, to: 0.7).w.scalars.map(\.bitPattern), first)
        let c = BrownianInterval(shape: [257], t0: 0, t1: 1, seed: 9)
        XCTAssertNotEqual(c.increment(from: 0.2, to: 0.7).w.scalars.map(\.bitPattern), first)
    }

    /// Var W(s, t) = t − s within 3 SE (SE = (t − s)·√(2/(n − 1)), n = 20 000), mean 0 within
    /// 3 SE, and disjoint increments uncorrelated (|r| < 3/√n).
    func testIncrementVarianceIsTheIntervalLength() {
        let n = 20000
        let b = BrownianInterval(shape: [n], t0: 0, t1: 2, seed: 1)
        for (s, t) in [(0.0, 2.0), (0.3, 0.35), (1.1, 1.9), (0.5, 0.5001)] {
            let (m, v) = meanAndVariance(b.increment(from: s, to: t).w.scalars.map(Double.init))
            XCTAssertEqual(m, 0, accuracy: 3 * ((t - s) / Double(n)).squareRoot())
            XCTAssertEqual(v, t - s, accuracy: 3 * (t - s) * (2 / Double(n - 1)).squareRoot(), "Var W(\(s), \(t))")
        }
        let x = b.increment(from: 0.2, to: 0.6).w.scalars.map(Double.init)
        let y = b.increment(from: 0.6, to: 1.7).w.scalars.map(Double.init)
        let r = zip(x, y).map { $0 * $1 }.reduce(0, +) / (Double(n) * (0.4 * 1.1).squareRoot())
        XCTAssertLessThan(Swift.abs(r), 3 / Double(n).squareRoot())
    }

    /// Lévy area: Var H(s, t) = (t − s)/12 within 3 SE, H uncorrelated with W (|r| < 3/√n), and
    /// areas of adjacent queries combine exactly as the integral says:
    /// (h₁ + h₂)·H = h₁H₁ + h₂H₂ + (h₂W₁ − h₁W₂)/2, up to float32 rounding.
    func testLevyAreaHasTheRightLawAndCombines() {
        let n = 20000
        let b = BrownianInterval(shape: [n], t0: 0, t1: 2, seed: 6, levyArea: true)
        for (s, t) in [(0.0, 2.0), (0.25, 0.75), (0.3, 1.13)] {
            let inc = b.increment(from: s, to: t)
            let w = inc.w.scalars.map(Double.init), h = inc.h!.scalars.map(Double.init)
            XCTAssertEqual(meanAndVariance(w).variance, t - s, accuracy: 3 * (t - s) * (2 / Double(n - 1)).squareRoot())
            XCTAssertEqual(meanAndVariance(h).variance, (t - s) / 12, accuracy: 3 * (t - s) / 12 * (2 / Double(n - 1)).squareRoot(),
                           "Var H(\(s), \(t))")
            let r = zip(w, h).map { $0 * $1 }.reduce(0, +) / (Double(n) * ((t - s) * (t - s) / 12).squareRoot())
            XCTAssertLessThan(Swift.abs(r), 3 / Double(n).squareRoot())
        }
        let (s, t, u) = (0.2, 0.9, 1.7)
        let p = b.increment(from: s, to: t), q = b.increment(from: t, to: u), whole = b.increment(from: s, to: u)
        let h1 = t - s, h2 = u - t
        let combined = (p.h! * Float(h1) + q.h! * Float(h2) + (p.w * Float(h2 / 2) - q.w * Float(h1 / 2))) * Float(1 / (h1 + h2))
        for (x, y) in zip(whole.h!.scalars, combined.scalars) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        // Without Lévy area the same tree gives the same W.
        let plain = BrownianInterval(shape: [n], t0: 0, t1: 2, seed: 6)
        XCTAssertEqual(plain.increment(from: s, to: u).w.scalars, whole.w.scalars)
        XCTAssertNil(plain.increment(from: s, to: u).h)
    }
}
