import NSDEData
import NSDETensor

/// Float images with labels held in memory, such as the output of an ``Attack``, usable wherever a
/// `Dataset` is (e.g. ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)``).
///
/// Unlike `InMemoryImageDataset` the pixels are kept as `Float` (an adversarial perturbation is
/// not a multiple of 1/255).
public struct AdversarialExamples: Dataset, Sendable {
    /// The images `[count, channels, height, width]`, pixels in [0, 1].
    public let images: Tensor
    /// The true class of each image.
    public let labels: [Int]
    /// Class names, indexed by label.
    public let classes: [String]

    /// Wraps `images` `[count, C, H, W]` and `count` labels (precondition: the counts agree).
    public init(images: Tensor, labels: [Int], classes: [String]) {
        precondition(images.rank == 4 && images.shape[0] == labels.count,
                     "AdversarialExamples: images \(images.shape) for \(labels.count) labels")
        self.images = images
        self.labels = labels
        self.classes = classes
    }

    /// Number of images.
    public var count: Int { labels.count }
    /// `[C, H, W]`.
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }

    /// Image `index` `[C, H, W]` and its label.
    public func example(at index: Int) -> (image: Tensor, label: Int) {
        let per = images.count / Swift.max(count, 1)
        let values = images.withUnsafeBufferPointer { Array($0[index * per..<(index + 1) * per]) }
        return (Tensor(shape: imageShape, scalars: values), labels[index])
    }
}
