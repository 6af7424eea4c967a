import NSDETensor

/// How the diffusion g(t, y) multiplies the Brownian increment ΔW, which fixes the shapes.
///
/// | Noise | g | ΔW | g·ΔW |
/// |---|---|---|---|
/// | `diagonal` | y's shape `[batch, …]`, depends on y | y's shape | g ⊙ ΔW |
/// | `additive` | y's shape, independent of y | y's shape | g ⊙ ΔW |
/// | `scalar` | y's shape | `[batch, 1, …, 1]` (one Brownian motion per sample) | g ⊙ ΔW, broadcast |
/// | `general` | `[batch, state, noise]` | `[batch, noise]` | the matrix–vector product Σⱼ g[:, i, j] ΔW[:, j] |
///
/// `general` needs a rank-2 state `[batch, state]`. Additive noise here is diagonal and
/// state-independent (it may depend on t).
public enum NoiseType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// g has y's shape and acts elementwise; component i of g depends only on t and yᵢ
    /// (assumed by Milstein, not checked).
    case diagonal
    /// g has y's shape, acts elementwise and does not depend on y.
    case additive
    /// g has y's shape and multiplies one scalar Brownian motion per sample.
    case scalar
    /// g is a `[batch, state, noise]` matrix acting on a `noise`-dimensional Brownian motion.
    case general

    /// The lowercase name, as in error messages and on the command line.
    public var description: String { rawValue }

    /// The product g·ΔW for this noise type (see the table in ``NoiseType``).
    ///
    /// - Parameters:
    ///   - g: the diffusion value: y's shape, or `[batch, state, noise]` for `general`.
    ///   - dW: the Brownian increment, shaped as ``brownianShape(state:generalNoiseDimension:)``.
    /// - Returns: a tensor of the state's shape. Differentiable in both arguments.
    public func apply(_ g: Tensor, _ dW: Tensor) -> Tensor {
        switch self {
        case .diagonal, .additive, .scalar:
            return g * dW   // scalar: dW [batch, 1, …] broadcasts over the state
        case .general:
            precondition(g.rank == 3 && dW.rank == 2, "general noise: g \(g.shape) must be [batch, state, noise] and dW \(dW.shape) [batch, noise]")
            let b = g.shape[0], d = g.shape[1], m = g.shape[2]
            return g.matmul(dW.reshaped([b, m, 1])).reshaped([b, d])
        }
    }

    /// The shape of the Brownian motion driving a state of shape `state`.
    ///
    /// - Parameters:
    ///   - state: the state's shape `[batch, …]`.
    ///   - generalNoiseDimension: `m`, the number of Brownian components for `general` noise
    ///     (ignored otherwise).
    /// - Returns: `state` (diagonal, additive), `[batch, 1, …, 1]` (scalar) or `[batch, m]` (general).
    public func brownianShape(state: [Int], generalNoiseDimension m: Int) -> [Int] {
        switch self {
        case .diagonal, .additive: return state
        case .scalar: return state.isEmpty ? [] : [state[0]] + Array(repeating: 1, count: state.count - 1)
        case .general: return [state.first ?? 1, m]
        }
    }
}
