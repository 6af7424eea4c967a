@testable import NSDETensor
import NSDETestSupport
import XCTest

/// Pullbacks that add into the gradient the tape has accumulated so far (a GEMM with `beta = 1`)
/// against the separate addition they replace.
final class GradientAccumulationTests: XCTestCase {
    func u(_ shape: [Int], _ seed: UInt64, scale: Float = 1) -> Tensor {
        TestData.uniform(shape, low: -scale, high: scale, seed: seed)
    }

    /// The linear op adds G·W and Gᵀ·x into the buffers it is handed and returns them; the values
    /// are those of the products added afterwards.
    func testLinearPullbackAddsIntoTheAccumulators() {
        let x = u([6, 5], 1), w = u([3, 5], 2), g = u([6, 3], 3)
        let op = LinearOp(x: x, w: w, hasBias: true)
        let dxSoFar = u([6, 5], 4), dwSoFar = u([3, 5], 5)
        let expected = op.vjp(g, needsGradient: [true, true, true])
        let dxSum = dxSoFar.copy(), dwSum = dwSoFar.copy()
        let grads = op.vjp(g, needsGradient: [true, true, true], accumulators: [dxSum, dwSum, nil])
        XCTAssertTrue(grads[0]!.storage === dxSum.storage, "the input gradient is added in place")
        XCTAssertTrue(grads[1]!.storage === dwSum.storage, "the weight gradient is added in place")
        XCTAssertEqual(grads[0]!.scalars, (dxSoFar + expected[0]!).scalars)
        XCTAssertEqual(grads[1]!.scalars, (dwSoFar + expected[1]!).scalars)
        XCTAssertEqual(grads[2]!.scalars, expected[2]!.scalars)
        // An input that needs no gradient leaves its accumulator alone.
        let untouched = dxSoFar.copy()
        let partial = op.vjp(g, needsGradient: [false, true, true], accumulators: [untouched, nil, nil])
        XCTAssertNil(partial[0])
        XCTAssertEqual(untouched.scalars, dxSoFar.scalars)
    }

    /// An MLP drift stepped like Euler–Maruyama (each weight used at every step, each state feeding
    /// both the drift and the update): the gradients with in-place accumulation are the bits of
    /// those with separate additions at the sizes of the MLP benchmark's shards, and match finite
    /// differences at a small size.
    func testSteppedMLPGradientsMatchSeparateAdditions() {
        func stepped(_ p: [Tensor], steps: Int) -> Tensor {
            var y = p[0]
            for step in 0..<steps {
                let f = y.linearTanh(weight: p[1], bias: p[2]).linear(weight: p[3], bias: p[4])
                y = y.addingScaled(f, 0.1, TestData.uniform(y.shape, seed: 100 + UInt64(step)), 0.3)
            }
            return weightedSum(y)
        }
        let d = 64, hidden = 128, batch = 128
        let params = [u([batch, d], 11), u([hidden, d], 12, scale: 0.2), u([hidden], 13, scale: 0.2),
                      u([d, hidden], 14, scale: 0.2), u([d], 15, scale: 0.2)]
        let inPlace = valueAndGradient(of: { stepped($0, steps: 4) }, at: params)
        let separate = Tape.$accumulatesInPlace.withValue(false) {
            valueAndGradient(of: { stepped($0, steps: 4) }, at: params)
        }
        XCTAssertEqual(inPlace.value.scalars, separate.value.scalars)
        for (a, b) in zip(inPlace.gradients, separate.gradients) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern))
        }
        let small = [u([3, 4], 21), u([5, 4], 22), u([5], 23), u([4, 5], 24), u([4], 25)]
        assertGradientsMatchFiniteDifferences(small, checkJVP: false) { stepped($0, steps: 3) }
    }

    /// A gradient the caller still holds (a parameter's `grad` read after an earlier backward
    /// pass) is never written in place: the next pass adds into a new buffer.
    func testAGradientTheCallerHoldsIsNotOverwritten() {
        var w = u([3, 4], 31)
        w.requiresGrad = true
        let x = u([5, 4], 32)
        x.linear(weight: w).sum().backward()
        let first = w.grad!
        let firstValues = first.scalars
        (x.linear(weight: w) + x.linear(weight: w)).sum().backward()
        XCTAssertEqual(first.scalars, firstValues, "the held gradient keeps its values")
        XCTAssertEqual(w.grad!.scalars, zip(firstValues, firstValues).map { $0 + 2 * $1 }, accuracy: 1e-5)
    }
}
