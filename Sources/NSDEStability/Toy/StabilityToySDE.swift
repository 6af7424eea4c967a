import NSDECore
import NSDETensor

/// The paper's Figure 1 SDE, dx = x dt + σ x dB (Itô), on a batch of independent scalar paths.
///
/// Drift f(t, x) = x, diagonal diffusion g(t, x) = σx. With x₀ ≠ 0 the exact solution is
/// x_t = x₀ exp((1 − σ²/2)t + σB_t), so E log|x_t| = log|x₀| + (1 − σ²/2)t: the ODE (σ = 0) blows up
/// like eᵗ, while σ > √2 drives x_t to 0 almost surely.
///
/// - Note: States are `[paths]`; σ is float32 because it scales float32 tensors.
///
/// References: Liu et al. (2019), "Neural SDE", §3 and Figure 1.
public struct StabilityToySDE: SDE {
    /// The diffusion scale σ ≥ 0 (dimensionless, per √time).
    public let sigma: Float

    /// Creates the SDE with diffusion scale `sigma`.
    public init(sigma: Float) { self.sigma = sigma }

    /// Itô.
    public var calculus: StochasticCalculus { .ito }
    /// Diagonal: one Brownian motion per path.
    public var noise: NoiseType { .diagonal }
    /// f(t, x) = x, `[paths]`.
    public func drift(_ t: Double, _ y: Tensor) -> Tensor { y }
    /// g(t, x) = σx, `[paths]`.
    public func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * sigma }
}
