import Foundation
import NSDEData
import NSDETensor
import XCTest

/// A two-class image task for training tests: grey `size x size` images whose left half (class
/// 0) or right half (class 1) is bright, with uniform pixel noise. Learnable in seconds by a
/// tiny classifier (the stem's edge detectors see which way the bright/dark edge runs).
enum SyntheticImages {
    /// `count` images, classes alternating, pixels drawn from a Philox generator with `seed`.
    static func dataset(count: Int, size: Int = 8, seed: UInt64, classNames: [String] = ["left", "right"]) -> InMemoryImageDataset {
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
    static func writeMNISTLayout(to directory: URL, train: Int, test: Int, size: Int = 8) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (prefix, count, seed) in [("train", train, UInt64(1)), ("t10k", test, UInt64(2))] {
            let d = dataset(count: count, size: size, seed: seed)
            try IDX.write(IDXArray(uint8: d.pixels, shape: [count, size, size]),
                          to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try IDX.write(IDXArray(uint8: d.labels.map(UInt8.init), shape: [count]),
                          to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }
}
