import NSDETensor
import NSDETraining

/// An adversarial attack on a ``StochasticClassifier``: maps a batch of clean images and their
/// labels to adversarial images of the same shape, inside the attack's threat model.
///
/// Conformers: ``PGD`` (L2 or L∞ projected gradient descent, Adam or Madry et al. updates, with
/// expectation over transformation for noisy models).
public protocol Attack: Sendable {
    /// Adversarial versions of `images`.
    ///
    /// - Parameters:
    ///   - images: clean images `[batch, channels, height, width]`, pixels in [0, 1].
    ///   - labels: the true class of each image (`batch` values).
    ///   - model: the attacked classifier. Its mode, test σ, noise seed and noise counter are the
    ///     same after the call as before.
    /// - Returns: adversarial images `[batch, channels, height, width]`, pixels in [0, 1].
    /// - Throws: ``RobustnessError/invalidParameter(name:value:expected:)`` for bad settings or
    ///   inputs; the model's forward-pass errors.
    func perturb<Model: StochasticClassifier>(_ images: Tensor, labels: [Int], model: Model) throws -> Tensor
}
