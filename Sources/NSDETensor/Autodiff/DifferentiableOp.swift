/// One differentiable operation recorded on the autodiff graph.
///
/// An op captures what its backward pass needs (inputs, output, saved statistics) when it runs
/// forward. Conformers live in `Autodiff/Ops/`, grouped by family, each with its forward kernel
/// call, its vector-Jacobian product and its Jacobian-vector product side by side.
public protocol DifferentiableOp {
    /// A short name for error messages and graph dumps, for example `"conv2d"`.
    var name: String { get }

    /// Reverse mode: given the gradient of the loss with respect to this op's output, returns
    /// the gradient with respect to each input, in input order. An entry may be `nil` when
    /// `needsGradient[i]` is false (the caller will not use it). Each non-nil gradient must have
    /// its input's shape.
    func vjp(_ upstream: Tensor, needsGradient: [Bool]) -> [Tensor?]

    /// Forward mode: given a tangent for each input (`nil` means zero), returns the tangent of
    /// the output. Ops that do not support forward mode return `nil`.
    func jvp(_ tangents: [Tensor?]) -> Tensor?
}

extension DifferentiableOp {
    public func jvp(_ tangents: [Tensor?]) -> Tensor? { nil }
}
