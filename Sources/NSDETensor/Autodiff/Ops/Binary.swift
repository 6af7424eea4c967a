import CKernels
import Foundation

// MARK: - Ops

/// `a + b` with broadcasting. Adjoint: broadcast's backward is sum, so each input receives the
/// upstream gradient summed down to its shape.
struct AddOp: DifferentiableOp {
    let a: [Int], b: [Int]
    var name: String { "add" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? Reduction.sum(g, toShape: a) : nil,
         needsGradient[1] ? Reduction.sum(g, toShape: b) : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { addTangents(t[0], t[1], a, b) }
}

/// `a - b` with broadcasting.
struct SubOp: DifferentiableOp {
    let a: [Int], b: [Int]
    var name: String { "sub" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? Reduction.sum(g, toShape: a) : nil,
         needsGradient[1] ? Reduction.sum(-g, toShape: b) : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { addTangents(t[0], t[1].map { -$0 }, a, b) }
}

/// `a * b` elementwise with broadcasting: d(ab) = b da + a db.
struct MulOp: DifferentiableOp {
    let a: Tensor, b: Tensor
    var name: String { "mul" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? Reduction.sum(g * b, toShape: a.shape) : nil,
         needsGradient[1] ? Reduction.sum(g * a, toShape: b.shape) : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { addTangents(t[0].map { $0 * b }, t[1].map { a * $0 }, a.shape, b.shape) }
}

/// `a / b` elementwise with broadcasting: d(a/b) = da / b - a db / b².
struct DivOp: DifferentiableOp {
    let a: Tensor, b: Tensor
    var name: String { "div" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? Reduction.sum(g / b, toShape: a.shape) : nil,
         needsGradient[1] ? Reduction.sum(-(g * a) / (b * b), toShape: b.shape) : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        addTangents(t[0].map { $0 / b }, t[1].map { -(a * $0) / (b * b) }, a.shape, b.shape)
    }
}

/// Sum of two optional tangents, broadcast to the common shape.
private func addTangents(_ x: Tensor?, _ y: Tensor?, _ a: [Int], _ b: [Int]) -> Tensor {
    let shape = Broadcast.shape(a, b)!
    switch (x, y) {
    case let (x?, y?): return x + y
    case let (x?, nil): return x.broadcast(to: shape)
    case let (nil, y?): return y.broadcast(to: shape)
    case (nil, nil): return Tensor(repeating: 0, shape: shape)
    }
}

// MARK: - Operators

extension Tensor {
    /// Elementwise sum with NumPy broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let value = Elementwise.broadcasting(.add, a, b)
        return record(value, inputs: [a, b]) { AddOp(a: a.shape, b: b.shape) }
    }
    /// Elementwise difference with NumPy broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let value = Elementwise.broadcasting(.subtract, a, b)
        return record(value, inputs: [a, b]) { SubOp(a: a.shape, b: b.shape) }
    }
    /// Elementwise product with NumPy broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let value = Elementwise.broadcasting(.multiply, a, b)
        return record(value, inputs: [a, b]) { MulOp(a: a.detached(), b: b.detached()) }
    }
    /// Elementwise quotient with NumPy broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        record(Elementwise.broadcasting(a, b) { $0 / $1 }, inputs: [a, b]) { DivOp(a: a.detached(), b: b.detached()) }
    }

    /// `a + s` for a constant `s`.
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    /// `s + a` for a constant `s`.
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    /// `a - s` for a constant `s`.
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    /// `s - a` for a constant `s`.
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    /// `a * s` for a constant `s`.
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    /// `s * a` for a constant `s`.
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    /// `a / s` for a constant `s`.
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    /// `-a`.
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }

    /// `a += b` (builds a new tensor; tensors are immutable values).
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// `a -= b`.
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// `a *= s`.
    public static func *= (a: inout Tensor, s: Float) { a = a * s }
}

// MARK: - Comparisons (not differentiable; results are 0 or 1)

extension Tensor {
    /// 1 where `a == b`, else 0 (broadcasting).
    public func eq(_ other: Tensor) -> Tensor { Elementwise.broadcasting(detached(), other.detached()) { $0 == $1 ? 1 : 0 } }
    /// 1 where `a > b`, else 0 (broadcasting).
    public func gt(_ other: Tensor) -> Tensor { Elementwise.broadcasting(detached(), other.detached()) { $0 > $1 ? 1 : 0 } }
    /// 1 where `a < b`, else 0 (broadcasting).
    public func lt(_ other: Tensor) -> Tensor { Elementwise.broadcasting(detached(), other.detached()) { $0 < $1 ? 1 : 0 } }
    /// 1 where `a > s`, else 0.
    public func gt(_ s: Float) -> Tensor { Elementwise.map(self) { $0 > s ? 1 : 0 } }
    /// `true` when every element is finite.
    public var isFinite: Bool { nsde_all_finite(storage.pointer, Int64(count)) != 0 }
}

// MARK: - Fused multiply-add

/// `x + a ⊙ b` for three tensors of one shape, in one pass. Adjoint: dx = g, da = g ⊙ b,
/// db = g ⊙ a. Solvers use it for updates such as h + f ⊙ (Δt + σ ΔW). Each factor is kept
/// only when the other one needs a gradient or tangent, so a drift output multiplied by a
/// constant is freed after the step.
struct AddingProductOp: DifferentiableOp {
    let a: Tensor?, b: Tensor?
    var name: String { "addingProduct" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? g : nil, needsGradient[1] ? g * b! : nil, needsGradient[2] ? g * a! : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        var out = t[0] ?? Tensor(repeating: 0, shape: (a ?? b!).shape)
        if let ta = t[1] { out = out.addingProduct(ta, b!) }
        if let tb = t[2] { out = out.addingProduct(a!, tb) }
        return out
    }
}

/// `x + a ⊙ (scale·b + shift)` for three tensors of one shape, in one pass (the dropout
/// diffusion's Euler–Maruyama update h + f ⊙ (σ ΔW + Δt)). Adjoint: dx = g,
/// da = g ⊙ (scale·b + shift), db = scale · g ⊙ a. `a` is kept only when `b` needs a gradient
/// or tangent.
struct AddingProductAffineOp: DifferentiableOp {
    let a: Tensor?, b: Tensor
    let scale: Float, shift: Float
    var name: String { "addingProductAffine" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? g : nil,
         needsGradient[1] ? Elementwise.productAffine(g, b, scale: scale, shift: shift) : nil,
         needsGradient[2] ? (g * a!) * scale : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        var out = t[0] ?? Tensor(repeating: 0, shape: b.shape)
        if let ta = t[1] { out = out.addingProduct(ta, affine: b, scale: scale, shift: shift) }
        if let tb = t[2] { out = out.addingProduct(a!, tb * scale) }
        return out
    }
}

extension Tensor {
    /// Whether an op must keep a tensor for the gradient or tangent of another input: `true`
    /// when `self` is differentiated (has a tape node or a tangent).
    var isDifferentiated: Bool { node != nil || tangentBox != nil }

    /// `self + a * b` elementwise, fused into one pass; all three must have the same shape.
    public func addingProduct(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == shape && b.shape == shape,
                     "addingProduct: shapes \(shape), \(a.shape) and \(b.shape) must be equal")
        let value = Elementwise.addingProduct(self, a, b)
        let ad = b.isDifferentiated ? a.detached() : nil, bd = a.isDifferentiated ? b.detached() : nil
        return Tensor.record(value, inputs: [self, a, b]) { AddingProductOp(a: ad, b: bd) }
    }

    /// `self + a ⊙ (scale · b + shift)` elementwise, fused into one pass with the roundings of
    /// `addingProduct(a, b.affine(scale: scale, shift: shift))` (same values); all three must
    /// have the same shape. The dropout diffusion's update `y + f ⊙ (σ ΔW + Δt)` without the
    /// intermediate tensor.
    public func addingProduct(_ a: Tensor, affine b: Tensor, scale: Float, shift: Float) -> Tensor {
        precondition(a.shape == shape && b.shape == shape,
                     "addingProduct(_:affine:): shapes \(shape), \(a.shape) and \(b.shape) must be equal")
        let value = Elementwise.addingProductAffine(self, a, b, scale: scale, shift: shift)
        let ad = b.isDifferentiated ? a.detached() : nil, bd = b.detached()
        return Tensor.record(value, inputs: [self, a, b]) { AddingProductAffineOp(a: ad, b: bd, scale: scale, shift: shift) }
    }
}

// MARK: - Fused scaled sum

/// `x + α·a + β·b` for three tensors of one shape, in one pass. Adjoint: dx = g, da = α·g,
/// db = β·g. Solvers use it for updates such as y + f·Δt + σ·ΔW.
struct AddingScaledOp: DifferentiableOp {
    let alpha: Float, beta: Float
    var name: String { "addingScaled" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [needsGradient[0] ? g : nil, needsGradient[1] ? g * alpha : nil, needsGradient[2] ? g * beta : nil]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let zero = Tensor(repeating: 0, shape: (t.first { $0 != nil } ?? nil)?.shape ?? [])
        guard t.contains(where: { $0 != nil }) else { return nil }
        return (t[0] ?? zero).addingScaled(t[1] ?? zero, alpha, t[2] ?? zero, beta)
    }
}

extension Tensor {
    /// `self + alpha * a + beta * b` elementwise, fused into one pass; all three must have the
    /// same shape.
    public func addingScaled(_ a: Tensor, _ alpha: Float, _ b: Tensor, _ beta: Float) -> Tensor {
        precondition(a.shape == shape && b.shape == shape,
                     "addingScaled: shapes \(shape), \(a.shape) and \(b.shape) must be equal")
        let value = Elementwise.addingScaled(self, a, alpha, b, beta)
        return Tensor.record(value, inputs: [self, a, b]) { AddingScaledOp(alpha: alpha, beta: beta) }
    }
}
