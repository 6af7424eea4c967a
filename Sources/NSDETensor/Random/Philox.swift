// Philox-4x32-10 counter-based random numbers (Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011).
//
// A counter-based generator is a keyed bijection from a 128-bit counter to 128 random bits: the
// block for any counter can be computed directly, without computing the blocks before it. The
// library uses this to make every random tensor a pure function of `(seed, stream, offset)`, so
// results are bit-identical whatever the thread count, and so that any block of numbers (for
// example the Brownian increments of one SDE solver step) can be regenerated later.
//
// Conventions used throughout the library:
// - key = `(seed low 32 bits, seed high 32 bits)`;
// - counter = `(block index low 32 bits, block index high 32 bits, stream low 32 bits,
//   stream high 32 bits)`.

// MARK: - Block function

/// The Philox-4x32-10 block function: maps a 128-bit counter to 128 random bits under a 64-bit
/// key, with 10 rounds. Matches the Random123 reference `philox4x32_10` bit for bit.
///
/// This is a pure function and cheap to copy; it holds only the key.
public struct Philox4x32: Sendable, Hashable {
    /// Round multiplier for counter word 0.
    public static let m0: UInt32 = 0xD251_1F53
    /// Round multiplier for counter word 2.
    public static let m1: UInt32 = 0xCD9E_8D57
    /// Weyl increment for key word 0 (golden ratio).
    public static let w0: UInt32 = 0x9E37_79B9
    /// Weyl increment for key word 1 (sqrt(3) - 1).
    public static let w1: UInt32 = 0xBB67_AE85

    /// Key word 0 (the low half of the seed by library convention).
    public let key0: UInt32
    /// Key word 1 (the high half of the seed by library convention).
    public let key1: UInt32

    /// Creates the block function for a 64-bit key given as two 32-bit words.
    @inlinable
    public init(key: (UInt32, UInt32)) {
        self.key0 = key.0
        self.key1 = key.1
    }

    /// Creates the block function keyed by `seed`: key = (low 32 bits, high 32 bits).
    @inlinable
    public init(seed: UInt64) {
        self.init(key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// The 128 random bits (four 32-bit words) for `counter`. Pure: the same key and counter
    /// always give the same words.
    @inlinable
    public func block(_ counter: (UInt32, UInt32, UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = counter.0, c1 = counter.1, c2 = counter.2, c3 = counter.3
        var k0 = key0, k1 = key1
        for round in 0..<10 {
            if round > 0 {
                k0 &+= Philox4x32.w0
                k1 &+= Philox4x32.w1
            }
            let p0 = UInt64(Philox4x32.m0) &* UInt64(c0)
            let p1 = UInt64(Philox4x32.m1) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            c0 = hi1 ^ c1 ^ k0
            c1 = lo1
            c2 = hi0 ^ c3 ^ k1
            c3 = lo0
        }
        return (c0, c1, c2, c3)
    }

    /// The block at `index` of `stream`, using the library's counter layout
    /// `(index low, index high, stream low, stream high)`.
    @inlinable
    public func block(index: UInt64, stream: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        block((UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
               UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)))
    }
}

// MARK: - Sequential generator

/// A sequential stream of random numbers built on ``Philox4x32``.
///
/// The state is `(seed, stream, counter)` plus the position inside the current block: a value
/// type, so copying a generator forks an identical, reproducible sequence. Block `counter` of the
/// stream is `Philox4x32(seed: seed).block(index: counter, stream: stream)`.
///
/// Scalar draws (`next()`, `nextUniform()`, ...) take 32-bit words one at a time from the current
/// block and fetch a new block when it is used up. Tensor draws (``normal(_:mean:std:)``,
/// ``uniform(_:low:high:)``, ``bernoulli(_:probability:)``) start at block `counter`, discarding
/// any unused words of a partly used block, and advance `counter` past the blocks they consume; they
/// produce exactly `Tensor.randomNormal(shape, seed: seed, stream: stream, offset: counter)` and
/// so on, so a draw can be replayed from a saved counter.
///
/// Different `stream` values give independent sequences for the same seed (they occupy disjoint
/// counter spaces).
public struct PhiloxGenerator: Sendable {
    /// The seed (the Philox key: low and high 32 bits).
    public let seed: UInt64
    /// The stream id (the high 64 bits of the Philox counter).
    public let stream: UInt64
    @usableFromInline let philox: Philox4x32
    @usableFromInline var _counter: UInt64 = 0
    @usableFromInline var buffer: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    /// Next word of `buffer` to hand out; 4 when the buffer is used up.
    @usableFromInline var bufferIndex: Int = 4

    /// Creates a generator at counter 0 of `stream` for `seed`.
    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.philox = Philox4x32(seed: seed)
    }

    /// Number of 4x32-bit Philox blocks consumed so far (a partly used block counts as consumed):
    /// the index of the next block to be generated. Save it to checkpoint the generator; setting
    /// it discards any unused words of the current block, so the next draw starts at the first
    /// word of block `counter`.
    public var counter: UInt64 {
        get { _counter }
        set { _counter = newValue; bufferIndex = 4 }
    }

    /// Fetches block `counter` into the buffer and advances the counter.
    @inlinable
    mutating func refill() {
        buffer = philox.block(index: _counter, stream: stream)
        _counter &+= 1
        bufferIndex = 0
    }

    /// The next 32 uniformly distributed random bits.
    @inlinable
    public mutating func next() -> UInt32 {
        if bufferIndex >= 4 { refill() }
        let i = bufferIndex
        bufferIndex += 1
        switch i {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// The next 64 random bits (two consecutive 32-bit words, the first one high).
    @inlinable
    public mutating func next64() -> UInt64 {
        let hi = UInt64(next())
        return (hi << 32) | UInt64(next())
    }

    /// A uniform `Float` in `[0, 1)`: the top 24 bits of one word times 2^-24 (every value is a
    /// multiple of 2^-24, all 2^24 of them equally likely).
    @inlinable
    public mutating func nextUniform() -> Float {
        Float(next() >> 8) * 0x1p-24
    }

    /// A uniform integer in `0..<n`, without bias (Lemire's multiply-and-reject method).
    /// Uses one 32-bit word per attempt when `n <= 2^32`, two otherwise. `n` must be at least 1.
    @inlinable
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n >= 1, "PhiloxGenerator.nextInt(below:): n must be at least 1, got \(n)")
        if UInt64(n) <= (1 << 32) {
            let n64 = UInt64(n)
            var m = UInt64(next()) &* n64
            var low = m & 0xFFFF_FFFF
            if low < n64 {
                let threshold = ((1 << 32) - n64) % n64   // 2^32 mod n
                while low < threshold {
                    m = UInt64(next()) &* n64
                    low = m & 0xFFFF_FFFF
                }
            }
            return Int(m >> 32)
        } else {
            let n64 = UInt64(n)
            var (high, low) = n64.multipliedFullWidth(by: next64())
            if low < n64 {
                let threshold = (0 &- n64) % n64          // 2^64 mod n
                while low < threshold {
                    (high, low) = n64.multipliedFullWidth(by: next64())
                }
            }
            return Int(high)
        }
    }

    /// A standard normal `Float` (mean 0, variance 1) by the Box–Muller transform of two words,
    /// with the same arithmetic as ``Tensor/randomNormal(_:mean:std:seed:stream:offset:)``
    /// (the cosine branch; the sine branch is discarded). Consumes two 32-bit words.
    @inlinable
    public mutating func nextNormal() -> Float {
        let a = next(), b = next()
        return PhiloxMath.boxMuller(a, b).0
    }

    /// Shuffles `array` in place (Fisher–Yates, using ``nextInt(below:)``); every permutation is
    /// equally likely, and the result depends only on the generator state.
    @inlinable
    public mutating func shuffle<T>(_ array: inout [T]) {
        var i = array.count - 1
        while i > 0 {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
            i -= 1
        }
    }
}

// MARK: - Shared arithmetic

/// The fixed arithmetic that turns Philox words into floating-point values. Tensor kernels and
/// the scalar generator use these same functions, so a value does not depend on which code path
/// (or how many threads) produced it. Only IEEE basic operations are used (no libm calls), with
/// branch-free selects, so loops over them vectorise and give identical bits on every platform.
@usableFromInline
enum PhiloxMath {
    /// A uniform value in `(0, 1]` from 32 random bits: `Float(x) * 2^-32 + 2^-33` (the
    /// `(x + 0.5) / 2^32` mapping, rounded to `Float`); never 0, so its logarithm is finite.
    @inlinable @inline(__always)
    static func openUniform(_ x: UInt32) -> Float {
        Float(x) * 0x1p-32 + 0x1p-33
    }

    /// Natural logarithm of a positive normal `Float` (Cephes `logf` polynomial, about 1 ulp).
    @inlinable @inline(__always)
    static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Int32(bitPattern: bits >> 23) &- 126                      // x = m * 2^e, m in [0.5, 1)
        let m0 = Float(bitPattern: (bits & 0x807F_FFFF) | 0x3F00_0000)
        let small = m0 < 0.707106781186547524
        e = small ? e &- 1 : e
        let m = small ? (m0 + m0) - 1 : m0 - 1
        let z = m * m
        var y: Float = 7.0376836292e-2
        y = y * m - 1.1514610310e-1
        y = y * m + 1.1676998740e-1
        y = y * m - 1.2420140846e-1
        y = y * m + 1.4249322787e-1
        y = y * m - 1.6668057665e-1
        y = y * m + 2.0000714765e-1
        y = y * m - 2.4999993993e-1
        y = y * m + 3.3333331174e-1
        y = y * m * z
        let fe = Float(e)
        y = y + -2.12194440e-4 * fe
        y = y + -0.5 * z
        return (m + y) + 0.693359375 * fe
    }

    /// `(cos(2πk/2^24), sin(2πk/2^24))` for a 24-bit integer `k` (Cephes polynomials on
    /// [-π/4, π/4] after an exact quadrant reduction done in integers).
    @inlinable @inline(__always)
    static func cosSinTurn24(_ k: UInt32) -> (Float, Float) {
        let q = (k &+ (1 << 21)) >> 22                                     // nearest quarter turn, 0...4
        let f = Float(Int32(bitPattern: k) &- Int32(bitPattern: q << 22)) * 0x1p-22   // in [-0.5, 0.5)
        let x = f * 1.57079632679489661923
        let z = x * x
        var ps: Float = -1.9515295891e-4
        ps = ps * z + 8.3321608736e-3
        ps = ps * z - 1.6666654611e-1
        let s = x + x * z * ps
        var pc: Float = 2.443315711809948e-5
        pc = pc * z - 1.388731625493765e-3
        pc = pc * z + 4.166664568298827e-2
        let c = (1 - 0.5 * z) + z * z * pc
        let odd = (q & 1) != 0
        let sinAbs = odd ? c : s
        let cosAbs = odd ? s : c
        let sinSign = (q & 2) << 30
        let cosSign = ((q &+ 1) & 2) << 30
        return (Float(bitPattern: cosAbs.bitPattern ^ cosSign), Float(bitPattern: sinAbs.bitPattern ^ sinSign))
    }

    /// Box–Muller: two standard normals `(r cos θ, r sin θ)` from two words, with
    /// `r = sqrt(-2 log(openUniform(a)))` and `θ = 2π (b >> 8) / 2^24`.
    @inlinable @inline(__always)
    static func boxMuller(_ a: UInt32, _ b: UInt32) -> (Float, Float) {
        let r = (-2 * log(openUniform(a))).squareRoot()
        let (c, s) = cosSinTurn24(b >> 8)
        return (r * c, r * s)
    }
}
