import NSDENN
import NSDETensor

/// g = σ·G(y; v): a learnable diffusion network (paper eq. 3, "G(h_t, t; v)"), diagonal noise.
///
/// The network maps a state `[batch, …]` to a tensor of the same shape; each output element
/// scales the Brownian motion of the same state element. Its parameters are listed in
/// ``parameters`` so that every gradient method trains them.
/// - Note: Gᵢ may depend on all of y, so Milstein's correction is only approximate (as for
///   ``DropoutDiffusion``); Euler–Maruyama and the Stratonovich solvers are unaffected.
public struct NeuralDiffusion<Network: Layer>: Diffusion {
    /// The network G(y; v), shape-preserving.
    public let network: Network
    /// A fixed output scale σ (default 1).
    public var sigma: Float
    /// Creates σ·G(y; v) from a shape-preserving network.
    public init(network: Network, sigma: Float = 1) {
        self.network = network
        self.sigma = sigma
    }
    /// `.diagonal`.
    public var noise: NoiseType { .diagonal }
    /// σ·G(y).
    public func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor {
        sigma == 1 ? network(y) : network(y) * sigma
    }
    /// The network's parameters.
    public var parameters: [Parameter] { network.parameters }
}
