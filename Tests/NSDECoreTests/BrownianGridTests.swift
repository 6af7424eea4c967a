import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// Fixed-grid increments regenerated from (seed, step).
final class BrownianGridTests: XCTestCase {
    func testStepsRegenerateInAnyOrderAndSumExactly() {
        let g = BrownianGrid(shape: [3, 5], dt: 0.1, seed: 7)
        let forward = (0..<6).map { g.stepIncrement($0).scalars }
        let backward = (0..<6).reversed().map { g.stepIncrement($0).scalars }.reversed()
        XCTAssertEqual(forward.map { $0.map(\.bitPattern) }, backward.map { $0.map(\.bitPattern) })
        XCTAssertNotEqual(forward[0], forward[1])
        let sum = (0..<6).map { g.stepIncrement($0) }.reduce(Tensor(repeating: 0, shape: [3, 5]), +)
        XCTAssertEqual(g.increment(from: 0, to: 0.6).w.scalars.map(\.bitPattern), sum.scalars.map(\.bitPattern))
        XCTAssertTrue(g.canQuery(at: 0.3))
        XCTAssertFalse(g.canQuery(at: 0.35))
    }

    /// Var ΔW = Δt and Var H = Δt/12 within 3 SE; H is uncorrelated with W (|r| < 3/√n);
    /// combined intervals keep Var H(s, t) = (t − s)/12.
    func testIncrementAndLevyAreaVariances() {
        let n = 20000, dt = 0.04
        let g = BrownianGrid(shape: [n], dt: dt, seed: 2, levyArea: true)
        for steps in [1, 5] {
            let inc = g.increment(from: dt, to: dt * Double(1 + steps))
            let len = dt * Double(steps)
            let w = inc.w.scalars.map(Double.init), h = inc.h!.scalars.map(Double.init)
            XCTAssertEqual(meanAndVariance(w).variance, len, accuracy: 3 * len * (2.0 / Double(n)).squareRoot())
            XCTAssertEqual(meanAndVariance(h).variance, len / 12, accuracy: 3 * len / 12 * (2.0 / Double(n)).squareRoot())
            let r = zip(w, h).map { $0 * $1 }.reduce(0, +) / (Double(n) * (len * len / 12).squareRoot())
            XCTAssertLessThan(Swift.abs(r), 3 / Double(n).squareRoot())
        }
    }
}
