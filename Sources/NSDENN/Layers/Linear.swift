import NSDETensor

/// Fully connected layer: `y = x Wᵀ + b` for `x` of shape `[N, inFeatures]`.
///
/// Parameters: `weight` `[outFeatures, inFeatures]`, `bias` `[outFeatures]` (PyTorch layout).
public final class Linear: Module, Layer {
    /// `[outFeatures, inFeatures]`.
    public let weight: Parameter
    /// `[outFeatures]`, or `nil` without bias.
    public let bias: Parameter?

    /// A layer with PyTorch's default initialisation drawn from ``Initializer/generator``.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear: feature counts must be positive, got \(inFeatures) -> \(outFeatures)")
        weight = Parameter(Initializer.kaimingUniform([outFeatures, inFeatures], fanIn: inFeatures))
        self.bias = bias ? Parameter(Initializer.biasUniform(outFeatures, fanIn: inFeatures)) : nil
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, thenTanh: false) }

    /// The layer's output, followed by tanh when `thenTanh` (one fused op,
    /// ``NSDETensor/Tensor/linearTanh(weight:bias:)``: the values of the layer then `Tanh` up to
    /// the order of the bias addition).
    public func callAsFunction(_ x: Tensor, thenTanh: Bool) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == weight.shape[1],
                     "Linear: expected input [N, \(weight.shape[1])], got \(x.shape)")
        // One op: GEMM `x · Wᵀ` (inside a batch shard with Wᵀ copied once per shard run, a plain
        // product; otherwise reading W transposed in place), onto the preloaded bias (or with the
        // bias added in the tanh pass).
        let transposed = weight.shardTransposedValue
        return thenTanh ? x.linearTanh(weight: weight.value, bias: bias?.value, transposedWeight: transposed)
            : x.linear(weight: weight.value, bias: bias?.value, transposedWeight: transposed)
    }
}
