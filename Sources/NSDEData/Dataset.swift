import NSDETensor

/// A finite, indexable collection of labelled images.
///
/// Images are float tensors of shape ``imageShape`` = `[C, H, W]` (channels, height, width) with
/// values in `[0, 1]`; labels are class indices in `0..<classes.count`.
public protocol Dataset: Sendable {
    /// Number of examples.
    var count: Int { get }
    /// Class names, indexed by label.
    var classes: [String] { get }
    /// Shape of one image, `[C, H, W]`.
    var imageShape: [Int] { get }
    /// Example `index` (in `0..<count`): an image tensor of shape `[C, H, W]` with values in
    /// `[0, 1]`, and its label.
    func example(at index: Int) -> (image: Tensor, label: Int)
    /// The examples at `indices` stacked into a tensor of shape `[indices.count, C, H, W]` with
    /// values in `[0, 1]`, and their labels in the same order. The default implementation stacks
    /// ``example(at:)``; conforming types provide faster versions.
    func batch(indices: [Int]) -> (images: Tensor, labels: [Int])
}

extension Dataset {
    /// Number of classes (`classes.count`).
    public var classCount: Int { classes.count }

    /// Stacks ``example(at:)`` for each index into a `[B, C, H, W]` tensor.
    public func batch(indices: [Int]) -> (images: Tensor, labels: [Int]) {
        let per = imageShape.reduce(1, *)
        let out = Tensor(uninitializedShape: [indices.count] + imageShape)
        var labels = [Int]()
        labels.reserveCapacity(indices.count)
        for (b, i) in indices.enumerated() {
            let (image, label) = example(at: i)
            precondition(image.count == per, "Dataset.batch: example \(i) has shape \(image.shape), expected \(imageShape)")
            image.withUnsafeBufferPointer { src in
                (out.storage.pointer + b * per).update(from: src.baseAddress!, count: per)
            }
            labels.append(label)
        }
        return (out, labels)
    }
}

/// An image dataset held in memory as 8-bit pixels, e.g. MNIST or Fashion-MNIST.
///
/// Pixels are stored as `UInt8` (0...255) in a flat row-major array of shape `[n, C, H, W]` and
/// converted to `Float` in `[0, 1]` (value / 255) only when examples or batches are extracted,
/// which keeps 60,000 28x28 images at 47 MB instead of 188 MB.
public struct InMemoryImageDataset: Dataset, Sendable {
    /// All pixels, row-major `[count, C, H, W]`, 0...255.
    public let pixels: [UInt8]
    /// The label of each example, in `0..<classes.count`.
    public let labels: [Int]
    /// Shape of one image, `[C, H, W]`.
    public let imageShape: [Int]
    /// Class names, indexed by label.
    public let classes: [String]

    /// Creates a dataset. `pixels.count` must equal `labels.count * C * H * W` and every label
    /// must lie in `0..<classes.count` (checked; loaders validate files before getting here and
    /// throw ``DataError`` instead).
    ///
    /// - Parameters:
    ///   - pixels: row-major `[n, C, H, W]` 8-bit pixels.
    ///   - labels: `n` class indices.
    ///   - imageShape: `[C, H, W]`.
    ///   - classes: the class names.
    public init(pixels: [UInt8], labels: [Int], imageShape: [Int], classes: [String]) {
        precondition(imageShape.count == 3 && imageShape.allSatisfy { $0 > 0 },
                     "InMemoryImageDataset: imageShape must be [C, H, W] with positive sizes, got \(imageShape)")
        let per = imageShape.reduce(1, *)
        precondition(pixels.count == labels.count * per,
                     "InMemoryImageDataset: \(labels.count) images of shape \(imageShape) need \(labels.count * per) pixels, got \(pixels.count)")
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classes.count },
                     "InMemoryImageDataset: labels must lie in 0..<\(classes.count)")
        self.pixels = pixels
        self.labels = labels
        self.imageShape = imageShape
        self.classes = classes
    }

    /// Number of examples.
    public var count: Int { labels.count }

    /// Number of pixels (and floats) per image, `C * H * W`.
    public var imageSize: Int { imageShape[0] * imageShape[1] * imageShape[2] }

    /// The 8-bit pixels of example `index`, `[C, H, W]` row-major.
    public func pixels(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "InMemoryImageDataset: index \(index) out of range 0..<\(count)")
        return pixels[index * imageSize ..< (index + 1) * imageSize]
    }

    /// Example `index`: a `[C, H, W]` float tensor in `[0, 1]` and its label.
    public func example(at index: Int) -> (image: Tensor, label: Int) {
        let (images, labels) = batch(indices: [index])
        return (Tensor(shape: imageShape, storage: images.storage), labels[0])
    }

    /// The examples at `indices` as a `[indices.count, C, H, W]` float tensor with values
    /// `pixel / 255` in `[0, 1]`, and their labels. Indices may repeat and come in any order.
    /// Cost: one table lookup per pixel (about 0.1 ms for 128 28x28 images).
    public func batch(indices: [Int]) -> (images: Tensor, labels: [Int]) {
        let per = imageSize
        let out = Tensor(uninitializedShape: [indices.count] + imageShape)
        var labels = [Int]()
        labels.reserveCapacity(indices.count)
        let table = unitScale
        pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                var dst = out.storage.pointer
                for i in indices {
                    precondition(i >= 0 && i < count, "InMemoryImageDataset.batch: index \(i) out of range 0..<\(count)")
                    let s = src.baseAddress! + i * per
                    for k in 0..<per { dst[k] = lut[Int(s[k])] }
                    dst += per
                    labels.append(self.labels[i])
                }
            }
        }
        return (out, labels)
    }

    /// The examples `range` (in order) as a `[range.count, C, H, W]` float tensor in `[0, 1]`,
    /// and their labels.
    public func batch(range: Range<Int>) -> (images: Tensor, labels: [Int]) {
        batch(indices: Array(range))
    }

    /// A smaller dataset of `n` examples (`n` is clamped to `count`).
    ///
    /// - Parameters:
    ///   - n: number of examples to keep.
    ///   - seed: `nil` keeps the first `n` examples; otherwise `n` distinct examples are drawn
    ///     uniformly at random with `PhiloxGenerator(seed: seed)` (a shuffle of all indices, first
    ///     `n` taken) and kept in their original relative order. The same seed gives the same subset.
    public func subset(_ n: Int, seed: UInt64? = nil) -> InMemoryImageDataset {
        precondition(n >= 0, "InMemoryImageDataset.subset: negative size \(n)")
        let n = min(n, count)
        guard let seed else { return subset(indices: Array(0..<n)) }
        var generator = PhiloxGenerator(seed: seed)
        var order = Array(0..<count)
        generator.shuffle(&order)
        return subset(indices: order.prefix(n).sorted())
    }

    /// Splits the examples in two disjoint parts: `heldOut` examples drawn uniformly at random with
    /// `PhiloxGenerator(seed: seed)` (a shuffle of all indices, first `heldOut` taken), and the
    /// rest. Both keep their original relative order; the same seed gives the same split.
    ///
    /// - Precondition: `0 <= heldOut <= count`.
    /// - Returns: `rest` (`count - heldOut` examples) and `heldOut`.
    public func split(holdingOut heldOut: Int, seed: UInt64) -> (rest: InMemoryImageDataset, heldOut: InMemoryImageDataset) {
        precondition(heldOut >= 0 && heldOut <= count, "InMemoryImageDataset.split: \(heldOut) of \(count) examples")
        var generator = PhiloxGenerator(seed: seed)
        var order = Array(0..<count)
        generator.shuffle(&order)
        return (subset(indices: order[heldOut...].sorted()), subset(indices: order[..<heldOut].sorted()))
    }

    /// A dataset of the examples at `indices`, in that order (indices may repeat).
    public func subset(indices: [Int]) -> InMemoryImageDataset {
        let per = imageSize
        var newPixels = [UInt8]()
        newPixels.reserveCapacity(indices.count * per)
        var newLabels = [Int]()
        newLabels.reserveCapacity(indices.count)
        for i in indices {
            newPixels += pixels(at: i)
            newLabels.append(labels[i])
        }
        return InMemoryImageDataset(pixels: newPixels, labels: newLabels, imageShape: imageShape, classes: classes)
    }

    /// Number of examples of each class, indexed by label.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes.count)
        for l in labels { counts[l] += 1 }
        return counts
    }
}

/// `unitScale[p] == Float(p) / 255` for every byte value `p`.
let unitScale: [Float] = (0...255).map { Float($0) / 255 }
