import NSDETensor
import XCTest

/// Helpers shared by the test targets: random tensors and finite-difference gradient checks.
public enum TestData {
    /// Uniform values in [low, high), reproducible from `seed`.
    public static func uniform(_ shape: [Int], low: Float = -1, high: Float = 1, seed: UInt64) -> Tensor {
        var g = PhiloxGenerator(seed: seed, stream: 777)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { _ in low + (high - low) * g.nextUniform() })
    }
}

/// Compares the reverse-mode gradient of `loss(inputs)` with central finite differences.
///
/// The loss is evaluated in Float32 but every reduction accumulates in Double, so with inputs of
/// order 1 and `eps = 1e-2` the truncation and rounding errors stay well below the tolerance.
/// Every coordinate is checked (keep shapes small). Also checks forward mode when `checkJVP`:
/// ⟨∇L, v⟩ must equal the JVP of L along v.
public func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], eps: Float = 1e-2, relativeTolerance: Double = 2e-2, absoluteTolerance: Double = 2e-3,
    checkJVP: Bool = true, file: StaticString = #filePath, line: UInt = #line,
    _ loss: @escaping ([Tensor]) -> Tensor
) {
    let (_, grads) = valueAndGradient(of: loss, at: inputs)
    for (k, x) in inputs.enumerated() {
        var maxError = 0.0, worst = ""
        for i in 0..<x.count {
            func evaluate(_ delta: Float) -> Double {
                let perturbed = x.copy()
                perturbed.storage.pointer[i] += delta
                var args = inputs
                args[k] = perturbed
                return Double(noGrad { loss(args) }.item)
            }
            let fd = (evaluate(eps) - evaluate(-eps)) / Double(2 * eps)
            let ad = Double(grads[k].storage.pointer[i])
            let err = abs(fd - ad) / (absoluteTolerance + relativeTolerance * max(abs(fd), abs(ad)))
            if err > maxError { maxError = err; worst = "input \(k) element \(i): finite difference \(fd), autodiff \(ad)" }
        }
        XCTAssertLessThanOrEqual(maxError, 1, "gradient mismatch at \(worst)", file: file, line: line)
    }
    guard checkJVP else { return }
    // ⟨∇L, v⟩ = JVP of L along v, for a random direction v.
    let tangents = inputs.enumerated().map { TestData.uniform($1.shape, seed: 9_000 + UInt64($0)) }
    let (_, jvp) = valueAndJVP(of: loss, at: inputs, tangents: tangents)
    var dot = 0.0
    for (g, v) in zip(grads, tangents) { for i in 0..<g.count { dot += Double(g.storage.pointer[i]) * Double(v.storage.pointer[i]) } }
    let j = Double(jvp.item)
    XCTAssertEqual(j, dot, accuracy: 1e-3 + 1e-3 * abs(dot), "JVP \(j) does not match <grad, v> \(dot)", file: file, line: line)
}

/// A fixed random weighting so that a tensor-valued function becomes a scalar loss that
/// depends on every output element differently.
public func weightedSum(_ y: Tensor, seed: UInt64 = 4242) -> Tensor {
    (y * TestData.uniform(y.shape, seed: seed)).sum()
}

/// Element-wise comparison of two arrays within an absolute tolerance.
public func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, _ message: String = "",
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count mismatch \(message)", file: file, line: line)
    guard a.count == b.count else { return }
    var worst: (Int, Float) = (0, 0)
    for i in a.indices where Swift.abs(a[i] - b[i]) > worst.1 { worst = (i, Swift.abs(a[i] - b[i])) }
    XCTAssertLessThanOrEqual(worst.1, accuracy, "element \(worst.0): \(a[worst.0]) vs \(b[worst.0]) \(message)", file: file, line: line)
}

extension XCTestCase {
    /// Deterministic uniform values in [-1, 1) (xorshift64*), independent of the library's RNG,
    /// so kernel tests do not depend on the generator they might be testing.
    public func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27
            let bits = (s &* 0x2545_F491_4F6C_DD1D) >> 40 // 24 bits
            t.storage.pointer[i] = Float(bits) / Float(1 << 23) - 1
        }
        return t
    }
}

// MARK: - Closeness of tensors

/// `‖a − b‖ / ‖b‖` (Frobenius norms, in double precision); `‖a − b‖` when `b` is zero.
public func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "relativeError: shapes \(a.shape) and \(b.shape) differ")
    var num = 0.0, den = 0.0
    for (x, y) in zip(a.scalars, b.scalars) {
        let d = Double(x) - Double(y)
        num += d * d
        den += Double(y) * Double(y)
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// Asserts equal shapes and ``relativeError(_:_:)`` below `bound`.
public func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, bound: Double = 1e-5,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    guard a.shape == b.shape else { return }
    let err = relativeError(a, b)
    XCTAssertLessThan(err, bound, "\(what): relative error \(err)", file: file, line: line)
}

/// Asserts ``relativeError(_:_:)`` below `tolerance` for each pair (for example the gradients of
/// y₀ and of every parameter by two methods), and prints the largest.
public func assertClose(_ a: [Tensor], _ b: [Tensor], tolerance: Double, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    print("\(what): largest relative difference \(zip(a, b).map { relativeError($0, $1) }.max() ?? 0)")
    for (i, (x, y)) in zip(a, b).enumerated() {
        let e = relativeError(x, y)
        XCTAssertLessThan(e, tolerance, "\(what): gradient \(i) differs by \(e) (relative)", file: file, line: line)
    }
}

/// Asserts equal shapes and `max |a − b| ≤ rtol · max |b| + atol` (element-wise closeness).
public func assertMaxClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-6, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst: Float = 0, scale: Float = 0
    for (x, y) in zip(a.scalars, b.scalars) { worst = max(worst, abs(x - y)); scale = max(scale, abs(y)) }
    let bound = rtol * scale + atol
    XCTAssertLessThanOrEqual(worst, bound, "\(what): max error \(worst) > \(bound)", file: file, line: line)
}

/// Each gradient within 1e-4 of its reference relative to max(‖reference‖, 1 % of the largest
/// reference's norm): a convolution's bias in front of a GroupNorm with one channel per group has a
/// zero gradient in exact arithmetic, which both sides then compute as rounding noise.
public func assertGradientsClose(_ a: [Tensor], _ b: [Tensor], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    func norm(_ t: Tensor) -> Double { t.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let floor = 1e-2 * (b.map(norm).max() ?? 0)
    for (k, (x, y)) in zip(a, b).enumerated() {
        XCTAssertEqual(x.shape, y.shape, "\(what): gradient \(k)", file: file, line: line)
        var num = 0.0
        for (p, q) in zip(x.scalars, y.scalars) { num += (Double(p) - Double(q)) * (Double(p) - Double(q)) }
        let error = num.squareRoot() / max(norm(y), floor, 1e-30)
        XCTAssertLessThan(error, 1e-4, "\(what): gradient \(k) differs by \(error)", file: file, line: line)
    }
}
