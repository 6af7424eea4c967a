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

    /// Stops on an input that is not `[N, inFeatures]`.
    private func checkInput(_ x: Tensor) {
        precondition(x.rank == 2 && x.shape[1] == weight.shape[1],
                     "Linear: expected input [N, \(weight.shape[1])], got \(x.shape)")
    }

    /// Inputs of fewer rows read the weight transposed in place rather than through a copy of
    /// its transpose: for them the product costs about what the copy does.
    static let transposeMinimumRows = 8

    /// `Wᵀ` for an input of `rows` rows: the copy cached for a shard run or a solve
    /// (``Parameter/withValuesFixed(_:)``), or `nil` (W read transposed in place) outside both
    /// or below ``transposeMinimumRows`` rows.
    func transposedWeight(rows: Int) -> Tensor? {
        rows >= Linear.transposeMinimumRows ? weight.cachedTransposedValue : nil
    }

    /// The layer's output, followed by tanh when `thenTanh` (one fused op,
    /// ``NSDETensor/Tensor/linearTanh(weight:bias:)``: the values of the layer then `Tanh` up to
    /// the order of the bias addition).
    public func callAsFunction(_ x: Tensor, thenTanh: Bool) -> Tensor {
        checkInput(x)
        // One op: GEMM `x · Wᵀ` (inside a batch shard or a solve with Wᵀ copied once, a plain
        // product; otherwise reading W transposed in place), onto the preloaded bias (or with the
        // bias added in the tanh pass).
        let transposed = transposedWeight(rows: x.shape[0])
        return thenTanh ? x.linearTanh(weight: weight.value, bias: bias?.value, transposedWeight: transposed)
            : x.linear(weight: weight.value, bias: bias?.value, transposedWeight: transposed)
    }
}

extension Linear: TapeFreeLayer {
    /// Always.
    public var supportsTapeFree: Bool { true }
    /// `[weight, bias]` (`[weight]` without bias).
    public var tapeFreeParameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    /// One: the input.
    public var tapeFreeSavedCount: Int { 1 }

    /// `x Wᵀ + b` with the kernels of ``callAsFunction(_:)``; saves `[x]`.
    public func tapeFreeForward(_ x: Tensor) -> (output: Tensor, saved: [Tensor]) {
        (tapeFreeValue(x, thenTanh: false), [x])
    }

    /// `update` of `x Wᵀ + b`, fused into the product where the register-tiled kernel runs it
    /// (``NSDETensor/Tensor/linearValue(weight:bias:transposedWeight:thenTanh:then:)``); saves `[x]`.
    public func tapeFreeForward(_ x: Tensor, then update: ElementwiseUpdate) -> (updated: Tensor, saved: [Tensor]) {
        (tapeFreeValue(x, thenTanh: false, then: update), [x])
    }

    /// The layer's pullback (``NSDETensor/Tensor/linearPullback(_:input:weight:hasBias:tanhOutput:inputGradient:addingInto:sums:)``).
    public func tapeFreePullback(_ g: Tensor, saved: [Tensor], inputGradient: Bool, addingInto accumulator: Tensor?,
                                 sums: inout [Tensor?], offset: Int) -> Tensor? {
        tapeFreePullback(g, input: saved[0], tanhOutput: nil, inputGradient: inputGradient, addingInto: accumulator,
                         sums: &sums, offset: offset)
    }

    /// The output (followed by tanh when `thenTanh`), with the kernels and bits of ``callAsFunction(_:thenTanh:)``,
    /// recorded nowhere.
    func tapeFreeValue(_ x: Tensor, thenTanh: Bool, then update: ElementwiseUpdate? = nil) -> Tensor {
        checkInput(x)
        return x.linearValue(weight: weight.value, bias: bias?.value, transposedWeight: transposedWeight(rows: x.shape[0]),
                             thenTanh: thenTanh, then: update)
    }

    /// The pullback at input `x`, through tanh first when `tanhOutput` (the output of
    /// ``tapeFreeValue(_:thenTanh:)`` with `thenTanh`) is given; with `inputThroughTanh` (`x` is a
    /// tanh's output), the input gradient carried on through that tanh (see
    /// ``NSDETensor/Tensor/linearPullback(_:input:weight:hasBias:tanhOutput:inputGradient:inputThroughTanh:addingInto:sums:)``).
    func tapeFreePullback(_ g: Tensor, input x: Tensor, tanhOutput: Tensor?, inputGradient: Bool, inputThroughTanh: Bool = false,
                          addingInto accumulator: Tensor?, sums: inout [Tensor?], offset: Int) -> Tensor? {
        var layerSums = LinearGradientSums()
        layerSums.weight = sums[offset]
        if bias != nil { layerSums.bias = sums[offset + 1] }
        sums[offset] = nil   // the pullback adds into these buffers: no second reference meanwhile
        if bias != nil { sums[offset + 1] = nil }
        let dx = Tensor.linearPullback(g, input: x, weight: weight.value, hasBias: bias != nil, tanhOutput: tanhOutput,
                                       inputGradient: inputGradient, inputThroughTanh: inputThroughTanh, addingInto: accumulator,
                                       sums: &layerSums)
        sums[offset] = layerSums.weight
        if bias != nil { sums[offset + 1] = layerSums.bias }
        return dx
    }
}
