/// The element types of NumPy `.npy` files that ``NumPy`` reads and writes.
///
/// On disk a type is a `descr` string: a byte-order character (`<` little-endian, `>`
/// big-endian, `|` not applicable, `=` native), a kind (`b` bool, `i` signed, `u` unsigned, `f`
/// float) and a size in bytes, e.g. `|u1`, `<f4`, `<i8`. Complex, float16, string, object and
/// structured types are not supported.
public enum NumPyDType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `|b1`: one byte, 0 or 1.
    case bool
    /// `|i1`: signed 8-bit integer.
    case int8
    /// `|u1`: unsigned 8-bit integer (images).
    case uint8
    /// `<i2`: signed 16-bit integer.
    case int16
    /// `<u2`: unsigned 16-bit integer.
    case uint16
    /// `<i4`: signed 32-bit integer.
    case int32
    /// `<u4`: unsigned 32-bit integer.
    case uint32
    /// `<i8`: signed 64-bit integer (NumPy's default integer; CIFAR-10-C labels).
    case int64
    /// `<u8`: unsigned 64-bit integer.
    case uint64
    /// `<f4`: IEEE 754 binary32.
    case float32
    /// `<f8`: IEEE 754 binary64.
    case float64

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    /// Whether the type holds integers (bool counts as the integers 0 and 1).
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The little-endian `descr` that ``NumPy`` writes: `|b1`, `|i1`, `|u1`, `<i2`, ... `<f8`.
    public var descr: String {
        let order = byteWidth == 1 ? "|" : "<"
        switch self {
        case .bool: return "|b1"
        case .int8, .int16, .int32, .int64: return "\(order)i\(byteWidth)"
        case .uint8, .uint16, .uint32, .uint64: return "\(order)u\(byteWidth)"
        case .float32, .float64: return "\(order)f\(byteWidth)"
        }
    }

    /// The type's name, e.g. `"uint8"`.
    public var description: String { rawValue }

    /// Parses a `descr` string. Returns the type and whether its elements are stored big-endian,
    /// or `nil` for an unsupported or malformed `descr`. The byte-order character may be `<`,
    /// `>`, `|` or `=` (native, little-endian on every supported host), or absent.
    public static func parse(descr: String) -> (dtype: NumPyDType, bigEndian: Bool)? {
        var chars = Substring(descr)
        var bigEndian = false
        if let first = chars.first, "<>|=".contains(first) {
            bigEndian = first == ">"
            chars = chars.dropFirst()
        }
        guard let kind = chars.first, let size = Int(chars.dropFirst()) else { return nil }
        let candidates: [NumPyDType]
        switch kind {
        case "b": candidates = [.bool]
        case "i": candidates = [.int8, .int16, .int32, .int64]
        case "u": candidates = [.uint8, .uint16, .uint32, .uint64]
        case "f": candidates = [.float32, .float64]
        default: return nil
        }
        guard let dtype = candidates.first(where: { $0.byteWidth == size }) else { return nil }
        return (dtype, bigEndian && size > 1)
    }
}

/// A Swift scalar type with a NumPy counterpart, for building and reading ``NumPyArray`` values.
public protocol NumPyScalar: Sendable {
    /// The matching NumPy element type.
    static var numPyDType: NumPyDType { get }
}

extension Int8: NumPyScalar { public static var numPyDType: NumPyDType { .int8 } }
extension UInt8: NumPyScalar { public static var numPyDType: NumPyDType { .uint8 } }
extension Int16: NumPyScalar { public static var numPyDType: NumPyDType { .int16 } }
extension UInt16: NumPyScalar { public static var numPyDType: NumPyDType { .uint16 } }
extension Int32: NumPyScalar { public static var numPyDType: NumPyDType { .int32 } }
extension UInt32: NumPyScalar { public static var numPyDType: NumPyDType { .uint32 } }
extension Int64: NumPyScalar { public static var numPyDType: NumPyDType { .int64 } }
extension UInt64: NumPyScalar { public static var numPyDType: NumPyDType { .uint64 } }
extension Float: NumPyScalar { public static var numPyDType: NumPyDType { .float32 } }
extension Double: NumPyScalar { public static var numPyDType: NumPyDType { .float64 } }

/// An n-dimensional array read from, or to be written to, a NumPy `.npy` file.
///
/// The elements are held in C (row-major) order as little-endian bytes in ``data``, whatever the
/// byte order in the file (big-endian files are converted when read). The host must be
/// little-endian, as every platform Swift supports on Linux and macOS is.
public struct NumPyArray: Equatable, Sendable {
    /// The element type.
    public let dtype: NumPyDType
    /// The dimensions, outermost first, e.g. `[50000, 32, 32, 3]`; `[]` for a scalar.
    public let shape: [Int]
    /// The elements, C order, `dtype.byteWidth` little-endian bytes each.
    public let data: [UInt8]

    /// Number of elements (the product of ``shape``; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// An array from raw C-order little-endian element bytes; `data.count` must equal
    /// `shape.product * dtype.byteWidth` (checked).
    public init(dtype: NumPyDType, shape: [Int], data: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "NumPyArray: negative dimension in \(shape)")
        precondition(data.count == shape.reduce(1, *) * dtype.byteWidth,
                     "NumPyArray: shape \(shape) of \(dtype) needs \(shape.reduce(1, *) * dtype.byteWidth) bytes, got \(data.count)")
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// An array of `values` in C order, typed after `T` (`[UInt8]` → `uint8`, `[Float]` →
    /// `float32`, `[Int64]` → `int64`, ...); `values.count` must equal the product of `shape`.
    public init<T: NumPyScalar>(_ values: [T], shape: [Int]) {
        self.init(dtype: T.numPyDType, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// The elements as `T`, or `nil` unless `T` is exactly the array's type.
    public func values<T: NumPyScalar>(as type: T.Type) -> [T]? {
        guard T.numPyDType == dtype else { return nil }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            initialized = count
        }
    }

    /// The elements of a `uint8` array (the data itself); `nil` for other types.
    public var uint8Values: [UInt8]? { dtype == .uint8 ? data : nil }

    /// The elements of an integer or bool array as `Int` (unsigned 64-bit values above
    /// `Int.max` are clamped to `Int.max`); `nil` for float types.
    public func integers() -> [Int]? {
        switch dtype {
        case .bool: return data.map { $0 == 0 ? 0 : 1 }
        case .uint8: return data.map { Int($0) }
        case .int8: return data.map { Int(Int8(bitPattern: $0)) }
        case .int16: return values(as: Int16.self)!.map { Int($0) }
        case .uint16: return values(as: UInt16.self)!.map { Int($0) }
        case .int32: return values(as: Int32.self)!.map { Int($0) }
        case .uint32: return values(as: UInt32.self)!.map { Int($0) }
        case .int64: return values(as: Int64.self)!.map { Int($0) }
        case .uint64: return values(as: UInt64.self)!.map { Int(clamping: $0) }
        case .float32, .float64: return nil
        }
    }

    /// The elements of any type converted to `Float` (bool as 0 and 1; wide integers and
    /// float64 rounded to the nearest float).
    public func floats() -> [Float] {
        switch dtype {
        case .float32: return values(as: Float.self)!
        case .float64: return values(as: Double.self)!.map { Float($0) }
        default: return integers()!.map { Float($0) }
        }
    }
}
