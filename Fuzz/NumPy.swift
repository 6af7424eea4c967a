import NSDEData

/// Fuzzes the `.npy` reader: ``NumPy/parse(_:file:)`` (header dict parser, version 1/2/3
/// preambles, dtype, shape and size validation), then the conversions callers use
/// (`floats()`, `integers()`).
///
/// Seeds: `.npy` files of every dtype and several ranks, written by ``NumPy/encode(_:version:)``
/// in format versions 1.0, 2.0 and 3.0, plus one big-endian array.
enum NumPyFuzz: FuzzTarget {
    static func seeds() throws -> [String: [UInt8]] {
        let arrays: [String: NumPyArray] = [
            "uint8-2x3": NumPyArray([UInt8](0..<6), shape: [2, 3]),
            "float32-4": NumPyArray([Float](arrayLiteral: 0, -1.5, .infinity, 3e38), shape: [4]),
            "int64-2x1x2": NumPyArray([Int64](arrayLiteral: -1, 0, 1, .max), shape: [2, 1, 2]),
            "float64-scalar": NumPyArray([Double](arrayLiteral: 0.25), shape: []),
            "int16-empty": NumPyArray([Int16](), shape: [0, 3]),
            "uint32-3": NumPyArray([UInt32](arrayLiteral: 1, 2, .max), shape: [3]),
            "int8-2": NumPyArray([Int8](arrayLiteral: -128, 127), shape: [2]),
        ]
        var out = [String: [UInt8]]()
        for (name, array) in arrays {
            for version in NumPyFormatVersion.allCases {
                out["\(name)-v\(version.major).npy"] = NumPy.encode(array, version: version)
            }
        }
        // A big-endian int32 array, as written by NumPy for dtype '>i4'.
        out["int32-big-endian.npy"] = version1("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                               alignment: 64) + [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE]
        // Headers padded to a page, as writers that align the data for memory mapping make them:
        // room for the fuzzer to grow the header.
        out["uint8-page-aligned.npy"] = version1("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }",
                                                 alignment: 16_384) + [1, 2, 3, 4]
        out["float64-page-aligned.npy"] = version1("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                                   alignment: 4_096) + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        return out
    }

    /// A version 1.0 preamble and `dict` padded with spaces and a newline so that the data
    /// starts at a multiple of `alignment`.
    static func version1(_ dict: String, alignment: Int) -> [UInt8] {
        var header = Array(dict.utf8)
        while (10 + header.count + 1) % alignment != 0 { header.append(0x20) }
        header.append(0x0A)
        return NumPy.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        let array = try NumPy.parse(Array(input))
        _ = array.integers()
        _ = array.floats()
    }
}

typealias Fuzzed = NumPyFuzz
