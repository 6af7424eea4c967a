import NSDECore
import NSDEModels
import NSDENN
import NSDETensor

/// A classifier whose forward pass may inject noise at test time, with the seeds and counters
/// that make that noise reproducible: what ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)``
/// and the trainer need from a model.
///
/// The forward pass ``logits(_:)`` throws instead of trapping, so a diverged model (a NaN or
/// infinite hidden state) or an unsupported solver/gradient combination is an error the caller
/// can report. ``PaperClassifier`` conforms.
public protocol StochasticClassifier: Layer {
    /// σ of the noise in evaluation mode (0 turns the noise off).
    var testSigma: Float { get set }
    /// Key of the noise's random streams.
    var noiseSeed: UInt64 { get set }
    /// The stream of the next noisy forward pass; each noisy pass advances it by one.
    var noiseCounter: UInt64 { get set }
    /// Whether a forward pass in evaluation mode at test-time σ `sigma` draws noise (so repeated
    /// passes differ).
    func injectsNoise(testSigma sigma: Float) -> Bool
    /// Logits `[N, classes]` for images `[N, C, H, W]` in the current mode, drawing the noise of
    /// stream ``noiseCounter`` (and advancing it) when the pass is noisy.
    ///
    /// - Throws: the solver's error, e.g. `SDEError.nonFiniteState` when the state blows up.
    func logits(_ images: Tensor) throws -> Tensor
    /// The stream the next noisy pass uses, advancing ``noiseCounter`` when a pass in the current
    /// mode is noisy: one per batch, shared by the batch's ``BatchParallel`` shards.
    func reserveNoiseStream() -> UInt64
    /// Logits for images on Brownian stream `noiseStream`, leaving ``noiseCounter`` as it is. Inside
    /// a ``BatchParallel`` shard, each sample gets the noise it gets in the whole batch.
    func logits(_ images: Tensor, noiseStream: UInt64) throws -> Tensor
}

extension PaperClassifier: StochasticClassifier {
    /// `true` unless the block is an ODE or σ is 0.
    public func injectsNoise(testSigma sigma: Float) -> Bool { noise != .ode && sigma != 0 }

    /// ``PaperClassifier/forward(_:)``: stem, one solve of the SDE block over [0, T] with
    /// ``PaperClassifier/steps`` steps on Brownian stream ``noiseCounter`` of key ``noiseSeed``
    /// (the counter advances when the pass is noisy, also when it fails), head.
    public func logits(_ images: Tensor) throws -> Tensor { try forward(images) }

    /// ``PaperClassifier/forward(_:noiseStream:)``.
    public func logits(_ images: Tensor, noiseStream: UInt64) throws -> Tensor { try forward(images, noiseStream: noiseStream) }
}
