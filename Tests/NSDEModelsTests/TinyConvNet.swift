import NSDENN
import NSDETensor

/// A small convolutional classifier for the tests (it checks that the layers learn):
/// `Conv(C,16,3,p1)–GN–ReLU–AvgPool2–Conv(16,32,3,p1)–GN–ReLU–AvgPool2–Flatten–Linear(32·(S/4)², classes)`
/// for `S x S` inputs (S divisible by 4; 20,490 parameters for 1x28x28 and 10 classes).
public final class TinyConvNet: Module, Layer {
    public let features: Sequential
    public let classifier: Linear

    public init(inChannels: Int = 1, classes: Int = 10, imageSize: Int = 28) {
        precondition(imageSize >= 4 && imageSize % 4 == 0, "TinyConvNet: image size must be a positive multiple of 4, got \(imageSize)")
        features = Sequential(
            Conv2d(inChannels, 16, kernelSize: 3, padding: 1), GroupNorm(groups: 4, channels: 16), ReLU(), AvgPool2d(kernelSize: 2),
            Conv2d(16, 32, kernelSize: 3, padding: 1), GroupNorm(groups: 8, channels: 32), ReLU(), AvgPool2d(kernelSize: 2),
            Flatten())
        classifier = Linear(32 * (imageSize / 4) * (imageSize / 4), classes)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { classifier(features(x)) }
}
