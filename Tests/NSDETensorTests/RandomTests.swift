import Foundation
import XCTest
@testable import NSDETensor

final class RandomTests: XCTestCase {

    // MARK: - Helpers

    private func assertBitsEqual(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), file: file, line: line)
    }

    private func withThreads<R>(_ n: Int, _ body: () -> R) -> R {
        let saved = Parallel.threadCount
        Parallel.threadCount = n
        defer { Parallel.threadCount = saved }
        return body()
    }

    private func moments(_ t: Tensor) -> (mean: Double, variance: Double, skew: Double, kurtosis: Double) {
        let xs = t.scalars.map(Double.init)
        let n = Double(xs.count)
        let mean = xs.reduce(0, +) / n
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        for x in xs {
            let d = x - mean, d2 = d * d
            m2 += d2; m3 += d2 * d; m4 += d2 * d2
        }
        m2 /= n; m3 /= n; m4 /= n
        return (mean, m2, m3 / pow(m2, 1.5), m4 / (m2 * m2))
    }

    // MARK: - Philox block function

    func testPhiloxKnownAnswers() {
        // Random123 known-answer vectors for philox4x32_10.
        let zero = Philox4x32(key: (0, 0)).block((0, 0, 0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8])

        let ones = Philox4x32(key: (0xffffffff, 0xffffffff)).block((0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd])

        let pi = Philox4x32(key: (0xa4093822, 0x299f31d0)).block((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1])
    }

    func testCounterLayoutConvention() {
        let seed: UInt64 = 0x0123_4567_89ab_cdef, stream: UInt64 = 0xfeed_beef_0000_0007, index: UInt64 = 0x1_0000_0002
        let p = Philox4x32(seed: seed)
        XCTAssertEqual(p.key0, 0x89ab_cdef)
        XCTAssertEqual(p.key1, 0x0123_4567)
        let a = p.block(index: index, stream: stream)
        let b = Philox4x32(key: (0x89ab_cdef, 0x0123_4567)).block((2, 1, 0x0000_0007, 0xfeed_beef))
        XCTAssertEqual([a.0, a.1, a.2, a.3], [b.0, b.1, b.2, b.3])
    }

    // MARK: - Generator

    func testGeneratorWordsFollowBlocks() {
        var g = PhiloxGenerator(seed: 42, stream: 3)
        let p = Philox4x32(seed: 42)
        var expected: [UInt32] = []
        for b in 0..<3 {
            let w = p.block(index: UInt64(b), stream: 3)
            expected += [w.0, w.1, w.2, w.3]
        }
        XCTAssertEqual((0..<12).map { _ in g.next() }, expected)
        XCTAssertEqual(g.counter, 3)
    }

    func testGeneratorCounterSaveRestore() {
        var g = PhiloxGenerator(seed: 9)
        for _ in 0..<4 { _ = g.next() }
        XCTAssertEqual(g.counter, 1)
        let saved = g.counter
        let a = (0..<10).map { _ in g.nextUniform() }
        XCTAssertEqual(g.counter, 4)
        g.counter = saved
        let b = (0..<10).map { _ in g.nextUniform() }
        XCTAssertEqual(a, b)
        // Restoring a counter in the middle of a block skips the block's unused words.
        g.counter = saved
        _ = g.next()
        XCTAssertEqual(g.counter, 2)
        g.counter = g.counter
        XCTAssertEqual((0..<6).map { _ in g.nextUniform() }, Array(a[4..<10]))
        // A copy forks the same sequence.
        var h = g
        XCTAssertEqual((0..<7).map { _ in g.next() }, (0..<7).map { _ in h.next() })
        XCTAssertEqual(g.seed, 9)
        XCTAssertEqual(g.stream, 0)
    }

    func testNextUniformRangeAndMean() {
        var g = PhiloxGenerator(seed: 5)
        var sum = 0.0
        let n = 200_000
        for _ in 0..<n {
            let u = g.nextUniform()
            XCTAssert(u >= 0 && u < 1)
            sum += Double(u)
        }
        XCTAssertEqual(sum / Double(n), 0.5, accuracy: 4 * (1.0 / 12.0 / Double(n)).squareRoot())
    }

    func testNextNormalMatchesTensorAndMoments() {
        var g = PhiloxGenerator(seed: 77, stream: 2)
        let a = g.nextNormal(), b = g.nextNormal()
        let t = Tensor.randomNormal([4], seed: 77, stream: 2)
        XCTAssertEqual(a.bitPattern, t.scalars[0].bitPattern)
        XCTAssertEqual(b.bitPattern, t.scalars[2].bitPattern)

        var sum = 0.0, sum2 = 0.0
        let n = 200_000
        for _ in 0..<n {
            let z = Double(g.nextNormal())
            sum += z; sum2 += z * z
        }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 5 / Double(n).squareRoot())
        XCTAssertEqual(sum2 / Double(n), 1, accuracy: 5 * (2 / Double(n)).squareRoot())
    }

    func testNextIntCoversRangeWithoutBias() {
        var g = PhiloxGenerator(seed: 1234)
        XCTAssertEqual(g.nextInt(below: 1), 0)
        for n in [2, 3, 7, 10, 1000] {
            let draws = 100 * n
            var counts = [Int](repeating: 0, count: n)
            for _ in 0..<draws {
                let k = g.nextInt(below: n)
                XCTAssert(k >= 0 && k < n)
                counts[k] += 1
            }
            XCTAssert(counts.allSatisfy { $0 > 0 }, "nextInt(below: \(n)) missed a value")
            let expected = Double(draws) / Double(n)
            let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
            // Chi-square with n-1 degrees of freedom: mean n-1, sd sqrt(2(n-1)); loose 6-sigma bound.
            let dof = Double(n - 1)
            XCTAssertLessThan(chi2, dof + 6 * (2 * dof).squareRoot() + 10, "n = \(n)")
        }
        // A range that is not a divisor of 2^32 and close to it: values spread over both halves.
        let big = 3 << 30
        var high = 0
        for _ in 0..<10_000 { if g.nextInt(below: big) >= big / 2 { high += 1 } }
        XCTAssertEqual(Double(high) / 10_000, 0.5, accuracy: 0.03)
        // 64-bit path.
        let huge = Int.max
        var hugeHigh = 0
        for _ in 0..<10_000 {
            let k = g.nextInt(below: huge)
            XCTAssert(k >= 0 && k < huge)
            if k >= huge / 2 { hugeHigh += 1 }
        }
        XCTAssertEqual(Double(hugeHigh) / 10_000, 0.5, accuracy: 0.03)
    }

    func testShuffleIsReproduciblePermutation() {
        var g1 = PhiloxGenerator(seed: 8), g2 = PhiloxGenerator(seed: 8)
        var a = Array(0..<1000), b = Array(0..<1000)
        g1.shuffle(&a)
        g2.shuffle(&b)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.sorted(), Array(0..<1000))
        XCTAssertNotEqual(a, Array(0..<1000))
        var empty: [Int] = []
        g1.shuffle(&empty)
        var one = [5]
        g1.shuffle(&one)
        XCTAssertEqual(one, [5])

        // Every permutation of 3 elements appears with frequency about 1/6.
        var g = PhiloxGenerator(seed: 99)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<60_000 {
            var x = [0, 1, 2]
            g.shuffle(&x)
            counts[x, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 6)
        for (_, c) in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 600) }
    }

    // MARK: - Tensors: determinism

    func testTensorsIndependentOfThreadCount() {
        let shape = [3, 100_003]   // large enough to split, odd tail
        for (seed, stream, offset) in [(UInt64(1), UInt64(0), UInt64(0)), (0xdead_beef_cafe, 5, 0xffff_fff0)] {
            let n1 = withThreads(1) { Tensor.randomNormal(shape, mean: 0.5, std: 2, seed: seed, stream: stream, offset: offset) }
            let n2 = withThreads(2) { Tensor.randomNormal(shape, mean: 0.5, std: 2, seed: seed, stream: stream, offset: offset) }
            let n3 = withThreads(3) { Tensor.randomNormal(shape, mean: 0.5, std: 2, seed: seed, stream: stream, offset: offset) }
            assertBitsEqual(n1, n2)
            assertBitsEqual(n1, n3)
            let u1 = withThreads(1) { Tensor.randomUniform(shape, low: -1, high: 3, seed: seed, stream: stream, offset: offset) }
            let u2 = withThreads(2) { Tensor.randomUniform(shape, low: -1, high: 3, seed: seed, stream: stream, offset: offset) }
            assertBitsEqual(u1, u2)
            let b1 = withThreads(1) { Tensor.randomBernoulli(shape, probability: 0.3, seed: seed, stream: stream, offset: offset) }
            let b2 = withThreads(2) { Tensor.randomBernoulli(shape, probability: 0.3, seed: seed, stream: stream, offset: offset) }
            assertBitsEqual(b1, b2)
        }
    }

    func testSameSeedSameTensorDifferentSeedOrStreamDiffers() {
        let a = Tensor.randomNormal([1000], seed: 3)
        assertBitsEqual(a, Tensor.randomNormal([1000], seed: 3))
        let bySeed = Tensor.randomNormal([1000], seed: 4)
        let byStream = Tensor.randomNormal([1000], seed: 3, stream: 1)
        let byHighSeed = Tensor.randomNormal([1000], seed: 3 | (1 << 32))
        for other in [bySeed, byStream, byHighSeed] {
            let same = zip(a.scalars, other.scalars).filter { $0 == $1 }.count
            XCTAssertLessThan(same, 5)
        }
        let u = Tensor.randomUniform([1000], seed: 3), v = Tensor.randomUniform([1000], seed: 3, stream: 1 << 40)
        XCTAssertLessThan(zip(u.scalars, v.scalars).filter { $0 == $1 }.count, 5)
    }

    func testElementToCounterMapping() {
        let seed: UInt64 = 0x5eed, stream: UInt64 = 11, offset: UInt64 = 1000
        let p = Philox4x32(seed: seed)
        let u = Tensor.randomUniform([10], seed: seed, stream: stream, offset: offset).scalars
        let bern = Tensor.randomBernoulli([10], probability: 0.5, seed: seed, stream: stream, offset: offset).scalars
        let z = Tensor.randomNormal([10], seed: seed, stream: stream, offset: offset).scalars
        for i in 0..<10 {
            let w = p.block(index: offset + UInt64(i / 4), stream: stream)
            let words = [w.0, w.1, w.2, w.3]
            let x = words[i % 4]
            XCTAssertEqual(u[i], Float(x >> 8) * 0x1p-24)
            XCTAssertEqual(bern[i], Float(x >> 8) * 0x1p-24 < 0.5 ? 1 : 0)
            let pair = i % 4 < 2 ? (words[0], words[1]) : (words[2], words[3])
            let r = (-2 * Foundation.log(Double(pair.0) / 4_294_967_296 + 0x1p-33)).squareRoot()
            let theta = 2 * Double.pi * Double(pair.1 >> 8) / 16_777_216
            let expected = i % 2 == 0 ? r * Foundation.cos(theta) : r * Foundation.sin(theta)
            XCTAssertEqual(Double(z[i]), expected, accuracy: 2e-6 * max(1, abs(expected)), "element \(i)")
        }
    }

    func testRegenerateSubBlockFromOffset() {
        let seed: UInt64 = 2024, stream: UInt64 = 7
        let long = Tensor.randomNormal([50_001], seed: seed, stream: stream, offset: 10).scalars
        // Block k of the long draw starts at element 4k.
        let k = 3_001
        let sub = Tensor.randomNormal([1_234], seed: seed, stream: stream, offset: 10 + UInt64(k)).scalars
        XCTAssertEqual(sub.map(\.bitPattern), long[(4 * k)..<(4 * k + 1_234)].map(\.bitPattern))
        let longU = Tensor.randomUniform([50_000], seed: seed).scalars
        let subU = Tensor.randomUniform([77], seed: seed, offset: 9_999).scalars
        XCTAssertEqual(subU, Array(longU[(4 * 9_999)..<(4 * 9_999 + 77)]))
        // Generator draws equal the offset-based tensors and advance the counter.
        var g = PhiloxGenerator(seed: seed, stream: stream)
        g.counter = 10
        let a = g.normal([4 * k])
        XCTAssertEqual(g.counter, 10 + Tensor.philoxBlocks(forNormalCount: 4 * k))
        XCTAssertEqual(a.scalars.map(\.bitPattern), long[0..<(4 * k)].map(\.bitPattern))
        let b = g.normal([1_234])
        XCTAssertEqual(b.scalars.map(\.bitPattern), sub.map(\.bitPattern))
        XCTAssertEqual(g.counter, 10 + UInt64(k) + 309)
        // Uniform and Bernoulli draws too.
        var h = PhiloxGenerator(seed: seed)
        _ = h.next()   // partly used block is skipped by tensor draws
        let hu = h.uniform([5, 3])
        XCTAssertEqual(hu.shape, [5, 3])
        XCTAssertEqual(hu.scalars, Array(longU[4..<19]))
        XCTAssertEqual(h.counter, 1 + 4)
        let hb = h.bernoulli([6], probability: 0.5)
        XCTAssertEqual(hb.scalars, Tensor.randomBernoulli([6], probability: 0.5, seed: seed, offset: 5).scalars)
        XCTAssertEqual(h.counter, 7)
    }

    func testBlockCounts() {
        XCTAssertEqual(Tensor.philoxBlocks(forNormalCount: 0), 0)
        XCTAssertEqual(Tensor.philoxBlocks(forNormalCount: 1), 1)
        XCTAssertEqual(Tensor.philoxBlocks(forNormalCount: 4), 1)
        XCTAssertEqual(Tensor.philoxBlocks(forNormalCount: 5), 2)
        XCTAssertEqual(Tensor.philoxBlocks(forUniformCount: 8), 2)
        XCTAssertEqual(Tensor.philoxBlocks(forUniformCount: 9), 3)
        XCTAssertEqual(Tensor.randomNormal([0, 3], seed: 1).count, 0)
        XCTAssertEqual(Tensor.randomNormal([], seed: 1).shape, [])
    }

    func testCounterCarryAcrossHighWord() {
        // Blocks straddling 2^32 use (index low, index high) words correctly.
        let offset: UInt64 = (1 << 32) - 2
        let t = Tensor.randomUniform([16], seed: 1, offset: offset).scalars
        let p = Philox4x32(seed: 1)
        for b in 0..<4 {
            let w = p.block((UInt32(truncatingIfNeeded: offset + UInt64(b)), UInt32((offset + UInt64(b)) >> 32), 0, 0))
            XCTAssertEqual(Array(t[(4 * b)..<(4 * b + 4)]), [w.0, w.1, w.2, w.3].map { Float($0 >> 8) * 0x1p-24 })
        }
    }

    // MARK: - Tensors: statistics

    func testNormalMoments() {
        let n = 1_000_000
        let m = moments(Tensor.randomNormal([n], seed: 31337))
        // Standard errors: mean 1e-3, variance ~1.4e-3, skewness ~2.4e-3, kurtosis ~4.9e-3.
        XCTAssertEqual(m.mean, 0, accuracy: 0.005)
        XCTAssertEqual(m.variance, 1, accuracy: 0.007)
        XCTAssertEqual(m.skew, 0, accuracy: 0.012)
        XCTAssertEqual(m.kurtosis, 3, accuracy: 0.025)

        let s = moments(Tensor.randomNormal([n], mean: -2, std: 0.5, seed: 7, stream: 1))
        XCTAssertEqual(s.mean, -2, accuracy: 0.0025)
        XCTAssertEqual(s.variance, 0.25, accuracy: 0.25 * 0.007)

        // Tail frequencies: P(|z| > 2) = 0.0455, P(|z| > 3) = 0.0027.
        let z = Tensor.randomNormal([n], seed: 99).scalars
        XCTAssertEqual(Double(z.filter { abs($0) > 2 }.count) / Double(n), 0.0455, accuracy: 0.0012)
        XCTAssertEqual(Double(z.filter { abs($0) > 3 }.count) / Double(n), 0.0027, accuracy: 0.0003)
        XCTAssert(z.allSatisfy { $0.isFinite })
        // Cosine and sine branches are uncorrelated.
        var c = 0.0
        for i in stride(from: 0, to: n, by: 2) { c += Double(z[i]) * Double(z[i + 1]) }
        XCTAssertEqual(c / Double(n / 2), 0, accuracy: 0.01)
    }

    func testNormalExtremeWordsAreFinite() {
        for a: UInt32 in [0, 1, 0x7fff_ffff, 0xffff_ff7f, 0xffff_ff80, 0xffff_ffff] {
            for b: UInt32 in [0, 0x3f_ffff, 0x40_0000, 0x7f_ffff, 0xffff_ffff, 0x1234_5678] {
                let (x, y) = PhiloxMath.boxMuller(a, b)
                XCTAssert(x.isFinite && y.isFinite, "\(a), \(b)")
                XCTAssertLessThan(abs(x), 6.8)
                XCTAssertEqual(Double(x * x + y * y), -2 * Foundation.log(Double(a) * 0x1p-32 + 0x1p-33),
                               accuracy: 1e-5 * 46)
            }
        }
        // The polynomial log and sin/cos against libm.
        for k: UInt32 in stride(from: 0, to: 1 << 24, by: 4093) {
            let (c, s) = PhiloxMath.cosSinTurn24(k)
            let t = 2 * Double.pi * Double(k) / 16_777_216
            XCTAssertEqual(Double(c), Foundation.cos(t), accuracy: 3e-7)
            XCTAssertEqual(Double(s), Foundation.sin(t), accuracy: 3e-7)
        }
        var x: Float = 0x1p-34
        while x <= 1 {
            XCTAssertEqual(Double(PhiloxMath.log(x)), Foundation.log(Double(x)), accuracy: 2e-7 * max(1, abs(Foundation.log(Double(x)))))
            x *= 1.0137
        }
    }

    func testUniformRangeAndMean() {
        let n = 1_000_000
        let u = Tensor.randomUniform([n], seed: 12).scalars
        XCTAssert(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = u.reduce(0.0) { $0 + Double($1) } / Double(n)
        XCTAssertEqual(mean, 0.5, accuracy: 0.0015)
        let variance = u.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(n)
        XCTAssertEqual(variance, 1.0 / 12.0, accuracy: 0.0005)
        // Ten equal bins, chi-square with 9 degrees of freedom.
        var bins = [Int](repeating: 0, count: 10)
        for x in u { bins[Int(x * 10)] += 1 }
        let chi2 = bins.reduce(0.0) { $0 + pow(Double($1) - 100_000, 2) / 100_000 }
        XCTAssertLessThan(chi2, 40)

        let v = Tensor.randomUniform([100_000], low: -3, high: 5, seed: 13).scalars
        XCTAssert(v.allSatisfy { $0 >= -3 && $0 < 5 })
        XCTAssertEqual(v.reduce(0.0) { $0 + Double($1) } / 100_000, 1, accuracy: 0.05)
        // Degenerate interval.
        XCTAssert(Tensor.randomUniform([10], low: 2, high: 2, seed: 1).scalars.allSatisfy { $0 == 2 })
        // Rounding never reaches `high`.
        XCTAssert(Tensor.randomUniform([100_000], low: 1, high: 1.0000001, seed: 2).scalars.allSatisfy { $0 < 1.0000001 })
    }

    func testBernoulliFrequency() {
        let n = 1_000_000
        for p: Float in [0.1, 0.5, 0.93] {
            let b = Tensor.randomBernoulli([n], probability: p, seed: 21).scalars
            XCTAssert(b.allSatisfy { $0 == 0 || $0 == 1 })
            let freq = Double(b.reduce(0, +)) / Double(n)
            let se = (Double(p) * (1 - Double(p)) / Double(n)).squareRoot()
            XCTAssertEqual(freq, Double(p), accuracy: 5 * se)
        }
        XCTAssert(Tensor.randomBernoulli([1000], probability: 0, seed: 1).scalars.allSatisfy { $0 == 0 })
        XCTAssert(Tensor.randomBernoulli([1000], probability: 1, seed: 1).scalars.allSatisfy { $0 == 1 })
    }
}
