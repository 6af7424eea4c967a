/// Holds a forward-mode tangent attached to a tensor.
public final class TangentBox {
    let value: Tensor
    init(_ value: Tensor) { self.value = value }
}

extension Tensor {
    /// The forward-mode tangent carried by this tensor, or `nil`.
    public var tangent: Tensor? { tangentBox?.value }

    /// The same value carrying `tangent` for forward-mode differentiation: every op applied to
    /// the result propagates the Jacobian-vector product alongside the value.
    public func withTangent(_ tangent: Tensor) -> Tensor {
        precondition(tangent.shape == shape, "withTangent: tangent shape \(tangent.shape) does not match \(shape)")
        var t = self
        t.tangentBox = TangentBox(tangent.detached())
        return t
    }
}

/// The value of `f` at `x` and the Jacobian-vector product `∂f/∂x · v` (forward mode).
///
/// Cost: one evaluation of `f` with tangents, independent of the output size. Every op `f`
/// uses must implement ``DifferentiableOp/jvp(_:)``.
public func valueAndJVP(of f: (Tensor) -> Tensor, at x: Tensor, tangent v: Tensor) -> (value: Tensor, jvp: Tensor) {
    let y = noGrad { f(x.detached().withTangent(v)) }
    return (y.detached(), y.tangent ?? Tensor(repeating: 0, shape: y.shape))
}

/// Like ``valueAndJVP(of:at:tangent:)`` for functions of several tensors; `nil` tangents are zero.
public func valueAndJVP(of f: ([Tensor]) -> Tensor, at xs: [Tensor], tangents: [Tensor?]) -> (value: Tensor, jvp: Tensor) {
    precondition(xs.count == tangents.count, "valueAndJVP: \(xs.count) inputs but \(tangents.count) tangents")
    let inputs = zip(xs, tangents).map { x, t in t.map { x.detached().withTangent($0) } ?? x.detached() }
    let y = noGrad { f(inputs) }
    return (y.detached(), y.tangent ?? Tensor(repeating: 0, shape: y.shape))
}
