import NSDENN
import NSDETensor
@testable import NSDETraining

/// A linear classifier logits = W (x + σ ξ) + b for the attack tests, with the perturbation of an
/// attack known in closed form. With test σ > 0 each pass adds input noise σ ξ, ξ ~ N(0, I) drawn
/// from Philox stream ``noiseCounter`` of key ``noiseSeed`` (then the counter advances).
///
/// - `weight`: `[classes, pixels]`; `bias`: `[classes]`; input `[N, C, H, W]` flattened.
final class AttackLinearClassifier: Module, StochasticClassifier {
    let weight: Parameter
    let bias: Parameter
    var testSigma: Float = 0
    var noiseSeed: UInt64 = 0
    var noiseCounter: UInt64 = 0

    init(weight: Tensor, bias: Tensor) {
        self.weight = Parameter(weight)
        self.bias = Parameter(bias)
        super.init()
    }

    func injectsNoise(testSigma sigma: Float) -> Bool { sigma != 0 }

    func logits(_ images: Tensor) throws -> Tensor { try logits(images, noiseStream: reserveNoiseStream()) }

    func reserveNoiseStream() -> UInt64 {
        let stream = noiseCounter
        if !isTraining, testSigma != 0 { noiseCounter &+= 1 }
        return stream
    }

    func logits(_ images: Tensor, noiseStream: UInt64) throws -> Tensor {
        var x = images.reshaped([images.shape[0], images.count / images.shape[0]])
        if !isTraining, testSigma != 0 {
            x = x + Tensor.randomNormal(x.shape, std: testSigma, seed: noiseSeed, stream: noiseStream)
        }
        return x.linear(weight: weight.value, bias: bias.value)
    }

    func callAsFunction(_ input: Tensor) -> Tensor { try! logits(input) }

    /// A two-class model with w₀ = 0, w₁ = `w`, b₀ = 0 and b₁ chosen so that the image with every
    /// pixel `pixel` has class-0 margin z₀ − z₁ = `margin`.
    static func twoClass(w: [Float], pixel: Float, margin: Float) -> AttackLinearClassifier {
        let dot = w.reduce(0) { $0 + $1 * pixel }
        return AttackLinearClassifier(weight: Tensor(shape: [2, w.count], scalars: [Float](repeating: 0, count: w.count) + w),
                                      bias: Tensor([0, -margin - dot]))
    }

    /// z₀ − z₁ for each image (no noise).
    func margins(_ images: Tensor) throws -> [Float] {
        let sigma = testSigma
        testSigma = 0
        defer { testSigma = sigma }
        eval()
        let z = try noGrad { try logits(images) }.scalars
        return (0..<images.shape[0]).map { z[2 * $0] - z[2 * $0 + 1] }
    }
}
