import Foundation

/// `scale * x + shift` for constants: derivative `scale`.
struct AffineOp: DifferentiableOp {
    let scale: Float
    var name: String { "affine" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [g * scale] }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0].map { $0 * scale } }
}

/// A pointwise function whose derivative is computed from the input and/or the output.
/// `derivative(x, y)` returns dy/dx elementwise.
struct PointwiseOp: DifferentiableOp {
    let name: String
    let x: Tensor
    let y: Tensor
    let derivative: (Float, Float) -> Float
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let d = derivative
        return [Elementwise.zip3(g, x, y) { g, x, y in g * d(x, y) }]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        guard let t = t[0] else { return Tensor(repeating: 0, shape: x.shape) }
        let d = derivative
        return Elementwise.zip3(t, x, y) { t, x, y in t * d(x, y) }
    }
}

/// tanh with its derivative 1 - y² from the output, in vectorised kernels.
struct TanhOp: DifferentiableOp {
    let y: Tensor
    var name: String { "tanh" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [Elementwise.tanhBackward(g, y: y)] }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        guard let t = t[0] else { return Tensor(repeating: 0, shape: y.shape) }
        return Elementwise.tanhBackward(t, y: y)
    }
}

extension Tensor {
    /// `scale * self + shift` with constant scale and shift.
    public func affine(scale: Float, shift: Float) -> Tensor {
        Tensor.record(Elementwise.affine(self, scale: scale, shift: shift), inputs: [self]) { AffineOp(scale: scale) }
    }

    private func pointwise(_ name: String, _ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        let y = Elementwise.map(self, f)
        return Tensor.record(y, inputs: [self]) { PointwiseOp(name: name, x: detached(), y: y, derivative: derivative) }
    }

    /// Rectified linear unit, max(x, 0). Derivative 1 for x > 0, else 0.
    public func relu() -> Tensor { pointwise("relu", { $0 > 0 ? $0 : 0 }, derivative: { x, _ in x > 0 ? 1 : 0 }) }
    /// Hyperbolic tangent (vectorised rational approximation, within a few ulp of `Foundation.tanh`).
    /// Derivative 1 - y².
    public func tanh() -> Tensor {
        let y = Elementwise.tanh(self)
        return Tensor.record(y, inputs: [self]) { TanhOp(y: y) }
    }
    /// Logistic sigmoid 1 / (1 + e^-x). Derivative y (1 - y).
    public func sigmoid() -> Tensor {
        pointwise("sigmoid", { x in x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) },
                  derivative: { _, y in y * (1 - y) })
    }
    /// Softplus log(1 + e^x), computed stably. Derivative sigmoid(x).
    public func softplus() -> Tensor {
        pointwise("softplus", { x in x > 20 ? x : (x < -20 ? Foundation.exp(x) : Foundation.log1p(Foundation.exp(x))) },
                  derivative: { x, _ in 1 / (1 + Foundation.exp(-x)) })
    }
    /// e^x. Derivative y.
    public func exp() -> Tensor { pointwise("exp", { Foundation.exp($0) }, derivative: { _, y in y }) }
    /// Natural logarithm. Derivative 1/x.
    public func log() -> Tensor { pointwise("log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    /// Square root. Derivative 1 / (2y).
    public func sqrt() -> Tensor { pointwise("sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    /// x². Derivative 2x.
    public func squared() -> Tensor { pointwise("square", { $0 * $0 }, derivative: { x, _ in 2 * x }) }
    /// |x|. Derivative sign(x) (0 at 0).
    public func abs() -> Tensor { pointwise("abs", { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    /// x raised to a constant power p. Derivative p x^(p-1).
    public func pow(_ p: Float) -> Tensor {
        pointwise("pow", { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }
    /// Clamps to [lo, hi]. Derivative 1 inside, 0 outside.
    public func clamped(min lo: Float, max hi: Float) -> Tensor {
        pointwise("clamp", { Swift.min(Swift.max($0, lo), hi) }, derivative: { x, _ in x >= lo && x <= hi ? 1 : 0 })
    }
}
