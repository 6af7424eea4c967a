import Foundation
import NSDEData
import NSDEModels
import NSDERobustness
import NSDETensor
import NSDETraining
import XCTest

/// A two-class image task for training tests: grey `size x size` images whose left half (class
/// 0) or right half (class 1) is bright, with uniform pixel noise. Learnable in seconds by a
/// tiny classifier (the stem's edge detectors see which way the bright/dark edge runs).
public enum SyntheticImages {
    /// `count` images, classes alternating, pixels drawn from a Philox generator with `seed`.
    public static func dataset(count: Int, size: Int = 8, seed: UInt64, classNames: [String] = ["left", "right"]) -> InMemoryImageDataset {
        var generator = PhiloxGenerator(seed: seed, stream: 77)
        var pixels = [UInt8](), labels = [Int]()
        pixels.reserveCapacity(count * size * size)
        for i in 0..<count {
            let label = i % 2
            labels.append(label)
            for _ in 0..<size {
                for x in 0..<size {
                    let bright = (x < size / 2) == (label == 0)
                    let value = (bright ? 0.7 : 0.25) + 0.3 * (generator.nextUniform() - 0.5)
                    pixels.append(UInt8(max(0, min(255, (value * 255).rounded()))))
                }
            }
        }
        return InMemoryImageDataset(pixels: pixels, labels: labels, imageShape: [1, size, size], classes: classNames)
    }

    /// Writes a train and a test split in the MNIST layout (`train-images-idx3-ubyte`, …,
    /// uncompressed) into `directory`, for `nsde … --dataset mnist --data-dir directory`. Labels
    /// are 0 and 1 of MNIST's ten classes.
    public static func writeMNISTLayout(to directory: URL, train: Int, test: Int, size: Int = 8) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (prefix, count, seed) in [("train", train, UInt64(1)), ("t10k", test, UInt64(2))] {
            let d = dataset(count: count, size: size, seed: seed)
            try IDX.write(IDXArray(uint8: d.pixels, shape: [count, size, size]),
                          to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try IDX.write(IDXArray(uint8: d.labels.map(UInt8.init), shape: [count]),
                          to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    /// `count` RGB 32x32 images with labels in 0..<10 (a CIFAR-10-shaped test set).
    public static func cifarShaped(count: Int) -> InMemoryImageDataset {
        var generator = PhiloxGenerator(seed: 5)
        let pixels = (0..<count * 3 * 32 * 32).map { i in UInt8(truncatingIfNeeded: (i % 97) * 2 + Int(generator.next() % 40)) }
        return InMemoryImageDataset(pixels: pixels, labels: (0..<count).map { $0 % 10 }, imageShape: [3, 32, 32],
                                    classes: CIFAR10.classNames)
    }

    /// `set`'s images as an NHWC `CorruptionBatch`.
    public static func nhwc(_ set: InMemoryImageDataset) -> CorruptionBatch {
        let (c, h, w) = (set.imageShape[0], set.imageShape[1], set.imageShape[2])
        var pixels = [UInt8](repeating: 0, count: set.pixels.count)
        for n in 0..<set.count { for ch in 0..<c { for p in 0..<h * w {
            pixels[n * c * h * w + p * c + ch] = set.pixels[n * c * h * w + ch * h * w + p]
        } } }
        return CorruptionBatch(count: set.count, height: h, width: w, channels: c, pixels: pixels)
    }

    /// A small training run on these images: a width-4, 2-step dropout classifier, SGD, batch 8.
    public static func trainingConfiguration(epochs: Int = 1) -> TrainingConfiguration {
        TrainingConfiguration(dataset: "synthetic",
                              model: ModelConfiguration(inChannels: 1, classes: 2, width: 4, noise: .dropout, sigma: 0.3, steps: 2),
                              optimizer: .sgd(learningRate: 0.05), schedule: .staged(stages: [1, 1]), epochs: epochs,
                              batchSize: 8, cropPadding: 1, evaluationBatchSize: 16, seed: 12_345_678_901_234_567_890)
    }
}
