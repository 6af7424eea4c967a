import NSDENN
import NSDETensor

/// Fuzzes the safetensors reader, ``SafeTensors/decode(_:source:)``: the 8-byte length prefix,
/// the JSON header (UTF-8, duplicate keys, trailing commas, `__metadata__`), each entry's dtype,
/// shape and data offsets, coverage of the data section, and conversion of every element type
/// to `Float`.
///
/// Seeds: files written by ``SafeTensors/encode(_:metadata:)`` (F32, with and without metadata,
/// a scalar and an empty tensor, as a checkpoint's `model.safetensors`), and hand-built files of
/// the other element types (F16, BF16, F64, I64, I8, U8, BOOL), as PyTorch writes them.
enum SafeTensorsFuzz: FuzzTarget {
    static func seeds() throws -> [String: [UInt8]] {
        var out = [String: [UInt8]]()
        out["model.safetensors"] = try SafeTensors.encode(
            ["stem.0.weight": Tensor(shape: [2, 1, 3, 3], scalars: (0..<18).map { Float($0) / 7 }),
             "stem.0.bias": Tensor(shape: [2], scalars: [0.5, -0.5])],
            metadata: ["format": "pt", "nsde.epoch": "3"])
        out["scalar-and-empty.safetensors"] = try SafeTensors.encode(
            ["scale": Tensor(2.5), "empty": Tensor(shape: [0, 4], scalars: [])])

        // Other element types: (dtype, shape, little-endian data).
        let others: [(String, [Int], [UInt8])] = [
            ("F16", [2], [0x00, 0x3C, 0x00, 0x7C]),                 // 1, +inf
            ("BF16", [1, 2], [0x80, 0x3F, 0xC0, 0xFF]),             // 1, NaN
            ("F64", [1], [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]),           // 1
            ("I64", [2], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0, 0, 0, 0, 0]),
            ("I8", [3], [0x80, 0, 0x7F]),
            ("U8", [2, 2], [0, 1, 254, 255]),
            ("BOOL", [2], [0, 1]),
        ]
        for (dtype, shape, data) in others {
            let json = "{\"x\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[0,\(data.count)]},"
                + "\"__metadata__\":{\"format\":\"pt\"}}"
            var header = Array(json.utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            let length = UInt64(header.count)
            out["\(dtype.lowercased()).safetensors"] = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
                + header + data
        }
        return out
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        _ = try SafeTensors.decode(Array(input))
    }
}

typealias Fuzzed = SafeTensorsFuzz
