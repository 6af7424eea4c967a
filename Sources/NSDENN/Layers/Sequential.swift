import NSDETensor

/// Layers applied in order. Children are named `"0"`, `"1"`, … in the state dict, as in
/// PyTorch's `nn.Sequential`.
public final class Sequential: Module, Layer {
    /// The layers, applied first to last.
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) {
        self.layers = layers
        super.init()
    }

    public override var flattensArrayNames: Bool { true }

    public convenience init(_ layers: any Layer...) { self.init(layers) }

    /// The layers applied in order. A `Linear` followed by a `Tanh` runs as one fused op
    /// (``Linear/callAsFunction(_:thenTanh:)``): no bias broadcast before the GEMM and no
    /// pre-activation tensor kept; the values are the two layers' (tests compare them bit for
    /// bit) up to the order of the bias addition on very wide inputs.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x, i = 0
        while i < layers.count {
            if let linear = layers[i] as? Linear, i + 1 < layers.count, layers[i + 1] is Tanh {
                h = linear(h, thenTanh: true)
                i += 2
            } else {
                h = layers[i](h)
                i += 1
            }
        }
        return h
    }
}
