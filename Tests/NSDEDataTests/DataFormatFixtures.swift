import Foundation
import NSDEData

/// Small generated files in the CIFAR, STL-10 and CIFAR-10-C formats, with pixel values that
/// encode their own position so a test can check where each one lands.
enum Fixtures {
    /// The value of pixel `(channel c, row y, column x)` of image `i` in every fixture:
    /// distinct across channels, rows and columns of one image, and across images.
    static func pixel(_ i: Int, _ c: Int, _ y: Int, _ x: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: i * 31 + c * 85 + y * 7 + x * 3 + (y * x) / 5)
    }

    // MARK: - CIFAR binary

    /// One CIFAR record: the label bytes, then the R, G and B 32x32 planes row-major.
    static func cifarRecord(_ i: Int, labels: [UInt8]) -> [UInt8] {
        var out = labels
        appendCIFARPixels(i, to: &out)
        return out
    }

    /// Appends the 3,072 pixels of image `i` in CIFAR order.
    static func appendCIFARPixels(_ i: Int, to out: inout [UInt8]) {
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { out.append(pixel(i, c, y, x)) } } }
    }

    /// A CIFAR-10 file of records for images `first ..< first + labels.count`.
    static func cifar10File(labels: [UInt8], first: Int = 0) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(labels.count * 3_073)
        for (k, l) in labels.enumerated() {
            out.append(l)
            appendCIFARPixels(first + k, to: &out)
        }
        return out
    }

    /// A CIFAR-100 file of records for images `0 ..< coarse.count`.
    static func cifar100File(coarse: [UInt8], fine: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        for (k, l) in zip(coarse, fine).enumerated() {
            out += [l.0, l.1]
            appendCIFARPixels(k, to: &out)
        }
        return out
    }

    // MARK: - STL-10

    /// An STL-10 `*_X.bin` of `n` images: each plane stored column-major, byte `x * 96 + y` of a
    /// plane holding `pixel(i, c, y, x)`.
    static func stl10Images(_ n: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(n * 27_648)
        for i in 0..<n { for c in 0..<3 { for x in 0..<96 { for y in 0..<96 { out.append(pixel(i, c, y, x)) } } } }
        return out
    }

    // MARK: - CIFAR-10-C

    /// A CIFAR-10-C corruption array of `n` NHWC images: element `[i, y, x, c]` = `pixel(i, c, y, x)`.
    static func cifar10cImages(_ n: Int) -> NumPyArray {
        var values = [UInt8]()
        values.reserveCapacity(n * 3_072)
        for i in 0..<n { for y in 0..<32 { for x in 0..<32 { for c in 0..<3 { values.append(pixel(i, c, y, x)) } } } }
        return NumPyArray(values, shape: [n, 32, 32, 3])
    }

    /// Checks that `ds` holds images `first ..< first + ds.count` in NCHW order, byte for byte,
    /// and that its float batch is `pixel / 255` at the same positions. Returns a description of
    /// the first mismatch, or `nil`.
    static func mismatch(_ ds: InMemoryImageDataset, first: Int = 0) -> String? {
        let (c, h, w) = (ds.imageShape[0], ds.imageShape[1], ds.imageShape[2])
        let batch = ds.batch(range: 0..<ds.count).images
        let floats = batch.scalars
        var k = 0
        for i in 0..<ds.count { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            let want = pixel(first + i, ch, y, x)
            if ds.pixels[k] != want { return "pixel [\(i), \(ch), \(y), \(x)]: \(ds.pixels[k]) != \(want)" }
            if floats[k] != Float(want) / 255 { return "float [\(i), \(ch), \(y), \(x)]: \(floats[k]) != \(Float(want) / 255)" }
            k += 1
        } } } }
        return nil
    }
}

extension TempDir {
    /// A subdirectory `name`, created.
    func subdirectory(_ name: String) throws -> URL {
        let u = url.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Writes `text` to `name` and returns its URL.
    @discardableResult
    func write(text: String, to name: String) throws -> URL {
        try write(Array(text.utf8), to: name)
    }
}

/// Writes `bytes` to `directory/name` and returns its URL.
@discardableResult
func writeFile(_ bytes: [UInt8], _ directory: URL, _ name: String) throws -> URL {
    let u = directory.appendingPathComponent(name)
    try Data(bytes).write(to: u)
    return u
}
