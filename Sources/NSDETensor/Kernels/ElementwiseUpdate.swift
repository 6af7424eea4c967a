import CKernels

/// An elementwise update that consumes a freshly computed value `v` of the state's shape: an
/// Euler–Maruyama step consuming the drift. Applied by a separate pass (``apply(to:)``), or fused
/// into the register-tiled product that computes `v` (``Tensor/linearValue(weight:bias:transposedWeight:thenTanh:then:)``),
/// with the same bits either way.
public enum ElementwiseUpdate {
    /// `state + v ⊙ (noise · scale + shift)`, rounded as
    /// ``Elementwise/addingProductAffine(_:_:_:scale:shift:)`` (dropout noise: y + f ⊙ (σ·ΔW + Δt)).
    case addingProductAffine(state: Tensor, noise: Tensor, scale: Float, shift: Float)
    /// `(state + alpha · v) + beta · noise`, rounded as ``Elementwise/addingScaled(_:_:_:_:_:)``
    /// (additive noise: y + f·Δt + σ·ΔW).
    case addingScaled(state: Tensor, alpha: Float, noise: Tensor, beta: Float)

    /// The update applied to `v` by the elementwise kernel (no autodiff).
    public func apply(to v: Tensor) -> Tensor {
        switch self {
        case let .addingProductAffine(state, noise, scale, shift):
            return Elementwise.addingProductAffine(state, v, noise, scale: scale, shift: shift)
        case let .addingScaled(state, alpha, noise, beta):
            return Elementwise.addingScaled(state, v, alpha, noise, beta)
        }
    }

    /// The state and noise tensors the update reads.
    var operands: (state: Tensor, noise: Tensor) {
        switch self {
        case let .addingProductAffine(state, noise, _, _), let .addingScaled(state, _, noise, _): return (state, noise)
        }
    }

    /// The register-tiled kernel's form of the update over `operands` (row stride: the state's
    /// last dimension).
    var epilogueUpdate: RegisterTiledGEMM.Epilogue.Update {
        let (state, noise) = operands
        switch self {
        case let .addingProductAffine(_, _, scale, shift):
            return .init(form: NSDE_UPDATE_PRODUCT_AFFINE, state: state.storage.pointer, noise: noise.storage.pointer, a: scale, b: shift)
        case let .addingScaled(_, alpha, _, beta):
            return .init(form: NSDE_UPDATE_SCALED, state: state.storage.pointer, noise: noise.storage.pointer, a: alpha, b: beta)
        }
    }
}
