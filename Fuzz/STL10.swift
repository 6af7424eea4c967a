import NSDEData

/// Fuzzes the STL-10 binary reader (``STL10/load(images:labels:classes:)``: whole-image check,
/// image/label count match, label range, column-major transpose). It reads two files, so an
/// input is split: its first byte `L` is the length of the labels file, which is the input's
/// last `L` bytes; the bytes in between are the images file. Both go to scratch files in
/// `/dev/shm`.
///
/// Seeds: one and two 3x96x96 images with labels 1...10 (the test fixtures' layout: each plane
/// column-major), and a label-count mismatch.
enum STL10Fuzz: FuzzTarget {
    /// `n` images, each plane stored column-major (byte `x * 96 + y` is row `y`, column `x`).
    static func images(_ n: Int) -> [UInt8] {
        var out = [UInt8]()
        for i in 0..<n { for c in 0..<3 { for x in 0..<96 { for y in 0..<96 {
            out.append(UInt8(truncatingIfNeeded: i * 31 + c * 85 + y * 7 + x * 3 + (y * x) / 5))
        } } } }
        return out
    }

    static func seeds() throws -> [String: [UInt8]] {
        [
            "stl10-one": [1] + images(1) + [10],
            "stl10-two": [2] + images(2) + [1, 7],
        ]
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        guard let first = input.first else { return }
        let labelCount = min(Int(first), input.count - 1)
        let split = input.count - labelCount
        let images = Scratch.file("X.bin", UnsafeRawBufferPointer(rebasing: input[1..<split]))
        let labels = Scratch.file("y.bin", UnsafeRawBufferPointer(rebasing: input[split...]))
        _ = try STL10.load(images: images, labels: labels)
    }
}

typealias Fuzzed = STL10Fuzz
