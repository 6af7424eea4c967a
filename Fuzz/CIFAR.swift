import NSDEData

/// Fuzzes the CIFAR binary record reader (``CIFARRecordLayout/load(files:classes:)``) with both
/// layouts: CIFAR-10 (1 label byte) and CIFAR-100 (2 label bytes, coarse and fine labels). The
/// reader only takes files, so each input is written to a scratch file in `/dev/shm` first.
///
/// Seeds: CIFAR-10 files of one and two records and a CIFAR-100 file of two records, laid out as
/// in `Tests/NSDEDataTests/DataFormatFixtures.swift` (label bytes, then the R, G and B 32x32
/// planes row-major).
enum CIFARFuzz: FuzzTarget {
    /// The CIFAR-10 pixel pattern of the test fixtures: distinct across channels, rows, columns.
    static func pixels(_ i: Int) -> [UInt8] {
        var out = [UInt8]()
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
            out.append(UInt8(truncatingIfNeeded: i * 31 + c * 85 + y * 7 + x * 3 + (y * x) / 5))
        } } }
        return out
    }

    static func seeds() throws -> [String: [UInt8]] {
        [
            "cifar10-one.bin": [3] + pixels(0),
            "cifar10-two.bin": [0] + pixels(0) + [9] + pixels(1),
            "cifar100-two.bin": [19, 99] + pixels(0) + [0, 0] + pixels(1),
        ]
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        let url = Scratch.file("batch.bin", input)
        _ = try? CIFAR10.load(files: [url])
        _ = try? CIFAR100.load(files: [url], labels: .fine)
        _ = try? CIFAR100.load(files: [url], labels: .coarse)
    }
}

typealias Fuzzed = CIFARFuzz
