import NSDETensor

/// Rectified linear unit.
public final class ReLU: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// Hyperbolic tangent.
public final class Tanh: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

extension Tanh: TapeFreeLayer {
    /// Always.
    public var supportsTapeFree: Bool { true }
    /// None.
    public var tapeFreeParameters: [Parameter] { [] }
    /// One: the output.
    public var tapeFreeSavedCount: Int { 1 }
    /// tanh(x); saves `[tanh(x)]`.
    public func tapeFreeForward(_ x: Tensor) -> (output: Tensor, saved: [Tensor]) {
        let y = Elementwise.tanh(x)
        return (y, [y])
    }
    /// g ⊙ (1 − y²), added to `accumulator` when given.
    public func tapeFreePullback(_ g: Tensor, saved: [Tensor], inputGradient: Bool, addingInto accumulator: Tensor?,
                                 sums: inout [Tensor?], offset: Int) -> Tensor? {
        guard inputGradient else { return nil }
        let dx = Elementwise.tanhBackward(g, y: saved[0])
        return accumulator.map { $0 + dx } ?? dx
    }
}

/// Softplus log(1 + eˣ).
public final class Softplus: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.softplus() }
}

/// Logistic sigmoid.
public final class Sigmoid: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}
