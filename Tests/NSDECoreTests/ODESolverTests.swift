import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// ODE solvers: measured orders and adaptive tolerance.
final class ODESolverTests: XCTestCase {
    /// Global error at T = 1 over four halvings of Δt; slope within ±0.1 of the order... for
    /// Euler and midpoint on y' = −y (Δt = 2⁻³ … 2⁻⁷), RK4 on a rotation with angular speed 2π
    /// (Δt = 2⁻³ … 2⁻⁶, errors 10⁻² … 10⁻⁶, well above float32 rounding).
    func testFixedStepOrdersMatchTheory() throws {
        func decay(_ t: Double, _ y: Tensor) -> Tensor { -y }
        let w = Float(2 * Double.pi)
        func rotation(_ t: Double, _ y: Tensor) -> Tensor {
            let a = y.slice(axis: 1, 0..<1), b = y.slice(axis: 1, 1..<2)
            return Tensor.concat([b * (-w), a * w], axis: 1)
        }
        func slope(_ kind: ODESolverKind, _ ks: ClosedRange<Int>, rotationProblem: Bool) throws -> Double {
            var dts: [Double] = [], errors: [Double] = []
            for k in ks {
                let dt = 1.0 / Double(1 << k)
                if rotationProblem {
                    let y = try odeint(rotation, y0: Tensor(shape: [1, 2], scalars: [1, 0]), times: [0, 1], solver: kind, dt: dt).final
                    errors.append(hypot(Double(y[0, 0]) - 1, Double(y[0, 1])))
                } else {
                    let y = try odeint(decay, y0: Tensor([1]), times: [0, 1], solver: kind, dt: dt).final
                    errors.append(Swift.abs(Double(y[0]) - Foundation.exp(-1.0)))
                }
                dts.append(dt)
            }
            return logLogSlope(dts, errors)
        }
        let euler = try slope(.euler, 3...7, rotationProblem: false)
        let midpoint = try slope(.midpoint, 3...7, rotationProblem: false)
        let rk4 = try slope(.rk4, 3...6, rotationProblem: true)
        print("ODE orders: Euler \(euler), midpoint \(midpoint), RK4 \(rk4)")
        XCTAssertEqual(euler, Double(Euler.order), accuracy: 0.1)
        XCTAssertEqual(midpoint, Double(Midpoint.order), accuracy: 0.1)
        XCTAssertEqual(rk4, Double(RK4.order), accuracy: 0.1)
    }

    /// Dormand–Prince meets its tolerance: on y' = −y and on one full rotation the error at the
    /// end is below 10·(rtol·|y| + atol) (the controller bounds local, not global, error), and
    /// tighter tolerances take more steps.
    func testDormandPrinceMeetsTolerance() throws {
        let w = Float(2 * Double.pi)
        func rotation(_ t: Double, _ y: Tensor) -> Tensor {
            let a = y.slice(axis: 1, 0..<1), b = y.slice(axis: 1, 1..<2)
            return Tensor.concat([b * (-w), a * w], axis: 1)
        }
        var previousSteps = 0
        for rtol in [1e-3, 1e-5] {
            let atol = rtol * 1e-2
            let decay = try odeint({ _, y in -y }, y0: Tensor([1, 2]), times: [0, 0.5, 2], rtol: rtol, atol: atol)
            XCTAssertEqual(decay.states.shape, [3, 2])
            XCTAssertEqual(Double(decay.states[2, 0]), Foundation.exp(-2.0), accuracy: 10 * (rtol * 0.14 + atol))
            XCTAssertEqual(Double(decay.states[1, 1]), 2 * Foundation.exp(-0.5), accuracy: 10 * (rtol * 1.2 + atol))
            let rot = try odeint(rotation, y0: Tensor(shape: [1, 2], scalars: [1, 0]), times: [0, 1], rtol: rtol, atol: atol)
            let y = rot.final
            XCTAssertLessThan(hypot(Double(y[0, 0]) - 1, Double(y[0, 1])), 10 * (rtol + atol))
            XCTAssertGreaterThan(rot.stats.acceptedSteps, previousSteps)
            XCTAssertEqual(rot.stats.driftEvaluations, 1 + 6 * (rot.stats.acceptedSteps + rot.stats.rejectedSteps))
            previousSteps = rot.stats.acceptedSteps
        }
    }

    /// A stiff start forces rejections, which are counted.
    func testDormandPrinceCountsRejectedSteps() throws {
        let sol = try odeint({ _, y in -y * 50 }, y0: Tensor([1]), times: [0, 1], dt: 0.5)
        XCTAssertGreaterThan(sol.stats.rejectedSteps, 0)
        XCTAssertEqual(Double(sol.final[0]), 0, accuracy: 1e-5)
    }

    /// Tableaus validate themselves: the built-in ones pass (building them does not trap).
    func testTableausAreConsistent() {
        for tab in [Euler.tableau, Midpoint.tableau, RK4.tableau, DormandPrince5.tableau] {
            XCTAssertEqual(tab.b.reduce(0, +), 1, accuracy: 1e-12)
        }
    }
}
