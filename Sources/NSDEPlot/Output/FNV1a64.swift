import Foundation

/// The 64-bit FNV-1a hash (Fowler, Noll, Vo): h = (h ⊕ byte) · 0x100000001b3 from 0xcbf29ce484222325.
/// A fast check that two byte strings are the same, not a cryptographic digest.
public enum FNV1a64 {
    /// The initial hash value (the FNV offset basis).
    public static let offset: UInt64 = 0xCBF2_9CE4_8422_2325
    /// The FNV prime.
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// Folds `bytes` into `hash`.
    public static func update(_ hash: inout UInt64, _ bytes: UnsafeRawBufferPointer) {
        var h = hash
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        hash = h
    }

    /// The hash of `data` as 16 lowercase hexadecimal digits.
    public static func hex(_ data: Data) -> String {
        var h = offset
        data.withUnsafeBytes { update(&h, $0) }
        return hex(h)
    }

    /// `value` as 16 lowercase hexadecimal digits (zero-padded).
    public static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
