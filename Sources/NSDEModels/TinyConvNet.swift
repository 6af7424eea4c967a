import NSDENN
import NSDETensor

/// A small convolutional classifier for 28x28 (or larger) images, used by the foundation demo
/// and tests: `Conv(C,16,3,s2,p1)–GN–ReLU–Conv(16,32,3,s2,p1)–GN–ReLU–GAP–Linear(32, classes)`
/// (about 6,000 parameters for one channel).
public final class TinyConvNet: Module, Layer {
    public let features: Sequential
    public let classifier: Linear

    public init(inChannels: Int = 1, classes: Int = 10) {
        features = Sequential(
            Conv2d(inChannels, 16, kernelSize: 3, stride: 2, padding: 1), GroupNorm(groups: 4, channels: 16), ReLU(),
            Conv2d(16, 32, kernelSize: 3, stride: 2, padding: 1), GroupNorm(groups: 8, channels: 32), ReLU(),
            Conv2d(32, 32, kernelSize: 3, stride: 1, padding: 1), GroupNorm(groups: 8, channels: 32), ReLU())
        classifier = Linear(32, classes)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { classifier(features(x).globalAvgPool()) }
}
