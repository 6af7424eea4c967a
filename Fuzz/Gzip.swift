import Foundation
import NSDEData

/// Fuzzes gzip / zlib decompression: ``Gzip/decompress(_:name:limit:prefixOnly:expectation:)``
/// with an output limit (gzip and zlib framing, multi-member files, the ISIZE size hint, buffer
/// growth, the limit), then ``IDX/parse(fileContents:file:)``, what ``IDX/read(contentsOf:)``
/// does with a `.gz` file: the header first, then at most what it promises.
///
/// Seeds: gzip-compressed IDX files (as in the Fashion-MNIST `*.gz` files) written by
/// ``Gzip/compress(_:level:format:)``: single member, two concatenated members, a zlib stream,
/// stored (level 0) and highly compressible data.
enum GzipFuzz: FuzzTarget {
    static func seeds() throws -> [String: [UInt8]] {
        let images = IDX.encode(IDXArray(uint8: (0..<98).map { UInt8($0 * 13 & 0xFF) }, shape: [2, 7, 7]))
        let labels = IDX.encode(IDXArray(uint8: [1, 0, 9], shape: [3]))
        let zeros = IDX.encode(IDXArray(uint8: [UInt8](repeating: 0, count: 16 * 28 * 28), shape: [16, 28, 28]))
        return [
            "images-idx3-ubyte.gz": Gzip.compress(images),
            "labels-idx1-ubyte.gz": Gzip.compress(labels, level: 9),
            "zeros-idx3-ubyte.gz": Gzip.compress(zeros),
            "stored.gz": Gzip.compress(labels, level: 0),
            "two-members.gz": Gzip.compress(Array(images.prefix(40))) + Gzip.compress(Array(images.dropFirst(40))),
            "labels.zlib": Gzip.compress(labels, format: .zlib),
        ]
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        let data = Data(input)
        _ = try? Gzip.decompress(data, limit: 1 << 20)
        _ = try? Gzip.decompress(data, limit: 64, prefixOnly: true)
        _ = try IDX.parse(fileContents: data)
    }
}

typealias Fuzzed = GzipFuzz
