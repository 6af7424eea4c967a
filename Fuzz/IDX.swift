import NSDEData

/// Fuzzes the IDX (MNIST / Fashion-MNIST) reader: ``IDX/parse(_:file:)`` (magic, element type,
/// rank, dimensions, size validation), then `integers()` and `doubles()`.
///
/// Seeds: IDX files of every element type, written by ``IDX/encode(_:)``: an images-like
/// `[2, 4, 4]` uint8 file, a labels-like `[3]` file, and small arrays of the other types.
enum IDXFuzz: FuzzTarget {
    static func seeds() throws -> [String: [UInt8]] {
        let arrays: [String: IDXArray] = [
            "images-ubyte": IDXArray(uint8: (0..<32).map { UInt8($0 * 7 & 0xFF) }, shape: [2, 4, 4]),
            "labels-ubyte": IDXArray(uint8: [7, 2, 9], shape: [3]),
            "int8": IDXArray(int8: [-128, 0, 127], shape: [3]),
            "int16": IDXArray(int16: [-1, 300], shape: [1, 2]),
            "int32": IDXArray(int32: [.min, 0, .max, 5], shape: [2, 2]),
            "float32": IDXArray(float32: [0.5, -2, .nan], shape: [3]),
            "float64": IDXArray(float64: [1e300, -0.0], shape: [2, 1]),
            "scalar": IDXArray(uint8: [42], shape: []),
        ]
        return Dictionary(uniqueKeysWithValues: arrays.map { ("\($0.key).idx", IDX.encode($0.value)) })
    }

    static func fuzz(_ input: UnsafeRawBufferPointer) throws {
        let array = try IDX.parse(Array(input))
        _ = array.integers()
        _ = array.doubles()
    }
}

typealias Fuzzed = IDXFuzz
