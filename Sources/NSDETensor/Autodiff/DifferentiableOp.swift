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

    /// Whether ``vjp(_:needsGradient:accumulators:)`` can add gradients into buffers the tape
    /// already holds (the tape prepares accumulators only for ops that say so).
    var acceptsAccumulators: Bool { get }

    /// Reverse mode into gradients already accumulated: `accumulators[i]`, when not `nil`, is the
    /// sum of the gradients that input `i` has received so far, in a buffer nothing else
    /// references. The op may add its gradient for input `i` into that buffer in place (for
    /// example a GEMM with `beta = 1`) and return the same tensor; the tape then keeps it as the
    /// new sum. Anything else returned for `i` is added by the tape as usual. The default calls
    /// ``vjp(_:needsGradient:)``.
    func vjp(_ upstream: Tensor, needsGradient: [Bool], accumulators: [Tensor?]) -> [Tensor?]

    /// Forward mode: given a tangent for each input (`nil` means zero), returns the tangent of
    /// the output. Ops that do not support forward mode return `nil`.
    func jvp(_ tangents: [Tensor?]) -> Tensor?
}

extension DifferentiableOp {
    public func jvp(_ tangents: [Tensor?]) -> Tensor? { nil }
    public var acceptsAccumulators: Bool { false }
    public func vjp(_ upstream: Tensor, needsGradient: [Bool], accumulators: [Tensor?]) -> [Tensor?] {
        vjp(upstream, needsGradient: needsGradient)
    }
}
