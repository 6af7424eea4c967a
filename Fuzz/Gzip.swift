import NSDEData

/// Fuzzes gzip / zlib decompression as ``IDX/read(contentsOf:)`` uses it:
/// ``Gzip/decompress(_:name:)`` (gzip and zlib framing, multi-member files, the ISIZE size hint,
/// buffer growth), then ``IDX/parse(_:file:)`` of the result.
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
        _ = try IDX.parse(try Gzip.decompress(input))
    }
}

typealias Fuzzed = GzipFuzz
