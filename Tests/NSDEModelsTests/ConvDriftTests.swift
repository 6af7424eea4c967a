import NSDECore
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

/// ``ConvDrift`` keeps its activations in oneDNN's blocked layout between its convolutions where
/// the processor allows; its value, its gradients (input and every parameter) and its tangents
/// agree with the layer-by-layer NCHW definition to rounding.
final class ConvDriftTests: XCTestCase {
    /// The drift written out with NCHW layers: GN → ReLU → ConcatConv three times, then GN.
    func reference(_ drift: ConvDrift, _ t: Float, _ h: Tensor) -> Tensor {
        var x = h
        for (norm, conv) in [(drift.norm1, drift.conv1), (drift.norm2, drift.conv2), (drift.norm3, drift.conv3)] {
            x = conv(t, norm(x).relu())
        }
        return drift.norm4(x)
    }

    func testBlockedDriftMatchesTheNCHWLayers() {
        // 16 channels in 8 groups (the demo's model), 64 in 32 (the paper's), a 12-channel drift
        // (never blocked), and 16 channels with fewer than 16 pixels.
        for (i, (c, groups, side)) in [(16, 8, 7), (64, 32, 6), (12, 4, 5), (16, 16, 3)].enumerated() {
            Initializer.manualSeed(UInt64(40 + i))
            let drift = ConvDrift(channels: c, groups: groups)
            let h = TestData.uniform([2, c, side, side], low: -2, high: 2, seed: UInt64(60 + i))
            let blocked = drift.conv1.supportsBlocked(inputShape: h.shape, normalizedBy: drift.norm1)
            let u = TestData.uniform(h.shape, seed: UInt64(80 + i))
            func gradients(_ f: (Tensor) -> Tensor) -> (Tensor, [Tensor]) {
                drift.zeroGrad()
                var x = h.copy()
                x.requiresGrad = true
                let y = f(x)
                (y * u).sum().backward()
                return (y.detached(), [x.grad!] + drift.parameters.map { $0.grad! })
            }
            let (value, grads) = gradients { drift(0.3, $0) }
            let (valueRef, gradsRef) = gradients { self.reference(drift, 0.3, $0) }
            assertClose(value, valueRef, "value, C \(c) (blocked: \(blocked))", bound: 1e-5)
            assertGradientsClose(grads, gradsRef, "drift gradients, C \(c) (blocked: \(blocked))")
            let v = TestData.uniform(h.shape, seed: UInt64(90 + i))
            let (_, jvp) = valueAndJVP(of: { drift(0.3, $0) }, at: h, tangent: v)
            let (_, jvpRef) = valueAndJVP(of: { self.reference(drift, 0.3, $0) }, at: h, tangent: v)
            assertClose(jvp, jvpRef, "drift tangent, C \(c)", bound: 1e-5)
        }
    }

    /// A paper classifier at width 16 (the demo's, blocked drift where the processor allows):
    /// checkpointed gradients match backprop's through the whole model.
    func testClassifierGradientsThroughTheBlockedDrift() {
        let x = Tensor.randomUniform([2, 1, 10, 10], seed: 8)
        func gradients(_ gradient: GradientMethod) -> [Float] {
            Initializer.manualSeed(3)
            let model = PaperClassifier(architecture: .paperSmall, inChannels: 1, width: 16, noise: .dropout, sigma: 0.3, steps: 3,
                                        gradient: gradient, groupNormGroups: 8)
            crossEntropy(logits: model(x), labels: [1, 4]).backward()
            return model.parameters.flatMap { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.value.count) }
        }
        let reference = gradients(.backprop), checkpointed = gradients(.checkpointed(every: 2))
        XCTAssertEqual(reference.count, checkpointed.count)
        let num = zip(reference, checkpointed).map { ($0 - $1) * ($0 - $1) }.reduce(0, +), den = reference.map { $0 * $0 }.reduce(0, +)
        XCTAssertGreaterThan(den, 0)
        XCTAssertLessThan((num / den).squareRoot(), 1e-5)
    }
}
