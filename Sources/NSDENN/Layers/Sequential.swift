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

    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
