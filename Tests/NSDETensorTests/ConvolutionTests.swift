import Dispatch
import XCTest
@testable import NSDETensor
import NSDETestSupport

/// 2-D convolution: oneDNN against the im2col reference, gradients against finite differences,
/// forward mode against reverse mode, shapes, plan caching and thread safety.
final class ConvolutionTests: XCTestCase {
    // MARK: Helpers

    private func dot(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape)
        var s = 0.0
        for i in 0..<a.count { s += Double(a.storage.pointer[i]) * Double(b.storage.pointer[i]) }
        return s
    }

    /// (N, C, O, H, W, k, stride, padding): 1x1, 3x3 and 4x4 kernels, strides 1 and 2, padding
    /// 0 and 1, channel counts that are and are not multiples of oneDNN's block of 8, non-square
    /// images.
    private let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 5, 5, 3, 1, 0),
        (2, 3, 4, 7, 6, 3, 1, 1),
        (3, 5, 7, 8, 8, 1, 1, 0),
        (2, 8, 16, 9, 9, 4, 2, 1),
        (2, 16, 8, 10, 10, 3, 2, 1),
        (2, 13, 9, 6, 11, 3, 2, 0),
        (4, 16, 16, 12, 12, 4, 1, 0),
        (1, 9, 3, 5, 5, 1, 2, 1),
        (2, 65, 64, 6, 6, 3, 1, 1),
        (3, 24, 32, 8, 7, 4, 1, 1),
        // A width-16 model's first layer and a time-channel map (one input channel: oneDNN's
        // JIT "first convolution" kernels on AVX-512, its GEMM kernels elsewhere).
        (2, 1, 16, 12, 12, 3, 1, 0),
        (1, 1, 16, 10, 10, 3, 1, 1),
    ]

    private func geometry(_ c: (Int, Int, Int, Int, Int, Int, Int, Int)) -> Conv2DGeometry {
        Conv2DGeometry(batch: c.0, inChannels: c.1, height: c.3, width: c.4, outChannels: c.2,
                       kernelHeight: c.5, kernelWidth: c.5, stride: c.6, padding: c.7)
    }

    private func withBackend<R>(_ b: ConvolutionBackend, _ body: () -> R) -> R {
        let saved = Convolution.backend
        Convolution.backend = b
        defer { Convolution.backend = saved }
        return body()
    }

    // MARK: Shapes

    func testOutputShapes() {
        let x = random([2, 3, 7, 7], seed: 1)
        XCTAssertEqual(x.conv2d(weight: random([4, 3, 3, 3], seed: 2)).shape, [2, 4, 5, 5])
        XCTAssertEqual(x.conv2d(weight: random([4, 3, 3, 3], seed: 2), padding: 1).shape, [2, 4, 7, 7])
        XCTAssertEqual(x.conv2d(weight: random([4, 3, 3, 3], seed: 2), stride: 2, padding: 1).shape, [2, 4, 4, 4])
        XCTAssertEqual(x.conv2d(weight: random([5, 3, 1, 1], seed: 3)).shape, [2, 5, 7, 7])
        XCTAssertEqual(x.conv2d(weight: random([5, 3, 1, 1], seed: 3), stride: 2).shape, [2, 5, 4, 4])
        XCTAssertEqual(x.conv2d(weight: random([6, 3, 4, 4], seed: 4), stride: 2, padding: 1).shape, [2, 6, 3, 3])
        XCTAssertEqual(random([1, 3, 8, 8], seed: 5).conv2d(weight: random([6, 3, 4, 4], seed: 4), stride: 2, padding: 1).shape,
                       [1, 6, 4, 4])
        XCTAssertEqual(random([1, 2, 5, 9], seed: 6).conv2d(weight: random([3, 2, 3, 3], seed: 7), bias: random([3], seed: 8),
                                                           stride: 2).shape, [1, 3, 2, 4])
        let g = Conv2DGeometry(inputShape: [128, 65, 30, 30], weightShape: [64, 65, 3, 3], stride: 1, padding: 1)
        XCTAssertEqual(g.outputShape, [128, 64, 30, 30])
        XCTAssertEqual(g.flops, 2.0 * 128 * 64 * 65 * 9 * 900)
        XCTAssertEqual(Convolution.flops(inputShape: [1, 1, 4, 4], weightShape: [1, 1, 3, 3]), 2 * 9 * 4)
    }

    func testKnownValues() {
        // A 1-channel 3x3 input with a 2x2 kernel, by hand.
        let x = Tensor(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let w = Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, -1])
        for b in [ConvolutionBackend.oneDNN, .im2col] {
            let y = Convolution.forward(x, weight: w, bias: Tensor([10]), backend: b)
            XCTAssertEqual(y.shape, [1, 1, 2, 2])
            XCTAssertEqual(y.scalars, [6, 6, 6, 6], "\(b)")
            // Padding 1, stride 2: positions (-1..1, -1..1) step 2.
            let z = Convolution.forward(x, weight: w, stride: 2, padding: 1, backend: b)
            XCTAssertEqual(z.scalars, [-1, -3, -7, 5 - 9], "\(b)")
        }
    }

    // MARK: oneDNN against the reference

    func testForwardMatchesIm2Col() {
        for (i, c) in cases.enumerated() {
            let g = geometry(c)
            let x = random(g.inputShape, seed: UInt64(10 * i + 1)), w = random(g.weightShape, seed: UInt64(10 * i + 2))
            let b = random([g.outChannels], seed: UInt64(10 * i + 3))
            for bias in [nil, b] {
                let fast = Convolution.forward(x, weight: w, bias: bias, stride: g.stride, padding: g.padding, backend: .oneDNN)
                let ref = Convolution.forward(x, weight: w, bias: bias, stride: g.stride, padding: g.padding, backend: .im2col)
                assertMaxClose(fast, ref, "forward \(g) bias=\(bias != nil)")
            }
        }
    }

    func testBackwardDataMatchesIm2Col() {
        for (i, c) in cases.enumerated() {
            let g = geometry(c)
            let w = random(g.weightShape, seed: UInt64(10 * i + 4)), dy = random(g.outputShape, seed: UInt64(10 * i + 5))
            let fast = Convolution.backwardData(dy, weight: w, inputShape: g.inputShape, stride: g.stride,
                                                padding: g.padding, backend: .oneDNN)
            let ref = Convolution.backwardData(dy, weight: w, inputShape: g.inputShape, stride: g.stride,
                                               padding: g.padding, backend: .im2col)
            assertMaxClose(fast, ref, "backward-data \(g)")
        }
    }

    func testBackwardWeightsAndBiasMatchIm2Col() {
        for (i, c) in cases.enumerated() {
            let g = geometry(c)
            let x = random(g.inputShape, seed: UInt64(10 * i + 6)), dy = random(g.outputShape, seed: UInt64(10 * i + 7))
            for withBias in [false, true] {
                let fast = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: withBias,
                                                       stride: g.stride, padding: g.padding, backend: .oneDNN)
                let ref = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: withBias,
                                                      stride: g.stride, padding: g.padding, backend: .im2col)
                assertMaxClose(fast.weight, ref.weight, "backward-weights \(g)")
                XCTAssertEqual(fast.bias == nil, !withBias)
                if let fb = fast.bias, let rb = ref.bias { assertMaxClose(fb, rb, "bias gradient \(g)") }
            }
        }
    }

    func testEveryInternalLayoutMatchesIm2Col() {
        // The automatic policy picks the layout per pass and channel count; force each one too.
        let saved = OneDNNConvolution.layout
        defer { OneDNNConvolution.layout = saved }
        for layout in [OneDNNConvolution.Layout.blocked, .nhwc, .plain, .automatic] {
            OneDNNConvolution.layout = layout
            for (i, c) in [(2, 3, 8, 7, 7, 3, 1, 1), (2, 13, 9, 6, 11, 3, 2, 0), (2, 16, 8, 10, 10, 4, 2, 1)].enumerated() {
                let g = geometry(c)
                let x = random(g.inputShape, seed: UInt64(20 * i + 1)), w = random(g.weightShape, seed: UInt64(20 * i + 2))
                let b = random([g.outChannels], seed: UInt64(20 * i + 3)), dy = random(g.outputShape, seed: UInt64(20 * i + 4))
                let y = Convolution.forward(x, weight: w, bias: b, stride: g.stride, padding: g.padding, backend: .oneDNN)
                let r = Convolution.backward(dy, input: x, weight: w, stride: g.stride, padding: g.padding, needBias: true,
                                             backend: .oneDNN)
                let yRef = Convolution.forward(x, weight: w, bias: b, stride: g.stride, padding: g.padding, backend: .im2col)
                let rRef = Convolution.backward(dy, input: x, weight: w, stride: g.stride, padding: g.padding, needBias: true,
                                                backend: .im2col)
                assertMaxClose(y, yRef, "forward \(layout) \(g)")
                assertMaxClose(r.input!, rRef.input!, "backward-data \(layout) \(g)")
                assertMaxClose(r.weight!, rRef.weight!, "backward-weights \(layout) \(g)")
                assertMaxClose(r.bias!, rRef.bias!, "bias \(layout) \(g)")
            }
        }
    }

    func testCombinedBackwardMatchesSeparatePasses() {
        // The combined call shares the converted output gradient between both passes; every
        // subset of requested gradients must give the same numbers.
        let g = geometry((2, 12, 16, 7, 7, 3, 1, 1))
        let x = random(g.inputShape, seed: 31), w = random(g.weightShape, seed: 32), dy = random(g.outputShape, seed: 33)
        let ref = Convolution.backward(dy, input: x, weight: w, stride: 1, padding: 1, needInput: true, needWeight: true,
                                       needBias: true, backend: .im2col)
        for needInput in [false, true] {
            for needWeight in [false, true] {
                for needBias in [false, true] {
                    let r = Convolution.backward(dy, input: x, weight: w, stride: 1, padding: 1, needInput: needInput,
                                                 needWeight: needWeight, needBias: needBias, backend: .oneDNN)
                    XCTAssertEqual(r.input == nil, !needInput)
                    XCTAssertEqual(r.weight == nil, !needWeight)
                    XCTAssertEqual(r.bias == nil, !needBias)
                    if let a = r.input { assertMaxClose(a, ref.input!, "dx") }
                    if let a = r.weight { assertMaxClose(a, ref.weight!, "dw") }
                    if let a = r.bias { assertMaxClose(a, ref.bias!, "db") }
                }
            }
        }
    }

    // MARK: Gradients

    /// Checks every element of every gradient of `L = Σ u ⊙ conv2d(x, w, b)` against a central
    /// difference. L is linear in each argument, so the difference is exact up to rounding and
    /// a large step keeps the rounding small; the tolerance catches any wrong entry.
    private func checkGradients(_ g: Conv2DGeometry, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let x = random(g.inputShape, seed: seed), w = random(g.weightShape, seed: seed + 1)
        let b = random([g.outChannels], seed: seed + 2), u = random(g.outputShape, seed: seed + 3)
        let inputs = [x, w, b]
        func loss(_ t: [Tensor]) -> Double {
            dot(noGrad { t[0].conv2d(weight: t[1], bias: t[2], stride: g.stride, padding: g.padding) }, u)
        }
        let grads = valueAndGradient(of: { t in
            (t[0].conv2d(weight: t[1], bias: t[2], stride: g.stride, padding: g.padding) * u).sum()
        }, at: inputs).gradients
        let eps: Float = 0.5
        for (k, input) in inputs.enumerated() {
            XCTAssertEqual(grads[k].shape, input.shape, file: file, line: line)
            for i in 0..<input.count {
                var plus = inputs, minus = inputs
                plus[k] = input.copy(); plus[k].storage.pointer[i] += eps
                minus[k] = input.copy(); minus[k].storage.pointer[i] -= eps
                let numeric = (loss(plus) - loss(minus)) / Double(2 * eps)
                let analytic = Double(grads[k].storage.pointer[i])
                XCTAssertEqual(analytic, numeric, accuracy: 1e-3 + 1e-3 * abs(numeric),
                               "\(g): gradient of input \(k) at \(i)", file: file, line: line)
            }
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for backend in [ConvolutionBackend.oneDNN, .im2col] {
            withBackend(backend) {
                checkGradients(geometry((2, 2, 3, 5, 5, 3, 1, 1)), seed: 100)
                checkGradients(geometry((1, 3, 2, 6, 5, 3, 2, 1)), seed: 200)
                checkGradients(geometry((2, 2, 2, 6, 6, 4, 2, 0)), seed: 300)
                checkGradients(geometry((1, 9, 10, 3, 3, 1, 1, 0)), seed: 400)
            }
        }
    }

    func testOnlyRequestedGradientsAreComputed() {
        let x = random([2, 3, 6, 6], seed: 50), w = random([4, 3, 3, 3], seed: 51), b = random([4], seed: 52)
        let op = Conv2DOp(input: x, weight: w, hasBias: true, stride: 1, padding: 1)
        let dy = random([2, 4, 6, 6], seed: 53)
        let onlyInput = op.vjp(dy, needsGradient: [true, false, false])
        XCTAssertNotNil(onlyInput[0])
        XCTAssertNil(onlyInput[1])
        XCTAssertNil(onlyInput[2])
        let onlyBias = op.vjp(dy, needsGradient: [false, false, true])
        XCTAssertNil(onlyBias[0])
        XCTAssertNil(onlyBias[1])
        assertMaxClose(onlyBias[2]!, dy.sum(axes: [0, 2, 3]), "bias gradient alone")

        // Through the graph: an input that requires a gradient, constant weight and bias.
        var leaf = x
        leaf.requiresGrad = true
        let y = leaf.conv2d(weight: w, bias: b, padding: 1)
        (y * dy).sum().backward()
        assertMaxClose(leaf.grad!, Convolution.backwardData(dy, weight: w, inputShape: x.shape, padding: 1, backend: .im2col),
                    "input gradient through the graph")
    }

    // MARK: Forward mode

    func testJVPMatchesVJPAndFiniteDifferences() {
        let g = geometry((2, 5, 6, 7, 7, 3, 2, 1))
        let x = random(g.inputShape, seed: 60), w = random(g.weightShape, seed: 61), b = random([g.outChannels], seed: 62)
        let vx = random(g.inputShape, seed: 63), vw = random(g.weightShape, seed: 64), vb = random([g.outChannels], seed: 65)
        let u = random(g.outputShape, seed: 66)
        let f: ([Tensor]) -> Tensor = { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: g.stride, padding: g.padding) }
        let grads = valueAndGradient(of: { (f($0) * u).sum() }, at: [x, w, b]).gradients
        // Every combination of present / absent tangents.
        for mask in 1..<8 {
            let tangents: [Tensor?] = [mask & 1 != 0 ? vx : nil, mask & 2 != 0 ? vw : nil, mask & 4 != 0 ? vb : nil]
            let jvp = valueAndJVP(of: f, at: [x, w, b], tangents: tangents).jvp
            XCTAssertEqual(jvp.shape, g.outputShape)
            // ⟨u, J v⟩ = ⟨Jᵀ u, v⟩.
            let lhs = dot(u, jvp)
            var rhs = 0.0
            for (k, t) in tangents.enumerated() { if let t { rhs += dot(grads[k], t) } }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(rhs)), "mask \(mask)")
            // Central difference: the quadratic term of the bilinear map cancels.
            let eps: Float = 0.25
            func shifted(_ s: Float) -> Tensor {
                let args = [x, w, b].enumerated().map { k, a in tangents[k].map { a + $0 * s } ?? a }
                return noGrad { f(args) }
            }
            let fd = (shifted(eps) - shifted(-eps)) * (1 / (2 * eps))
            assertMaxClose(jvp, fd, rtol: 1e-4, atol: 1e-4, "jvp against finite difference, mask \(mask)")
        }
    }

    // MARK: Plans, threads, concurrency

    func testPlansAreCachedAndReused() {
        let g = geometry((2, 7, 5, 9, 9, 3, 1, 1))
        let x = random(g.inputShape, seed: 70), w = random(g.weightShape, seed: 71), dy = random(g.outputShape, seed: 72)
        _ = Convolution.forward(x, weight: w, padding: 1, backend: .oneDNN)
        _ = Convolution.backward(dy, input: x, weight: w, padding: 1, needBias: true, backend: .oneDNN)
        let count = OneDNNConvolution.cachedPlanCount
        for _ in 0..<3 {
            _ = Convolution.forward(x, weight: w, padding: 1, backend: .oneDNN)
            _ = Convolution.backward(dy, input: x, weight: w, padding: 1, needBias: true, backend: .oneDNN)
        }
        XCTAssertEqual(OneDNNConvolution.cachedPlanCount, count)
        let impl = Convolution.oneDNNImplementations(inputShape: g.inputShape, weightShape: g.weightShape, padding: 1)
        XCTAssertFalse(impl.forward.isEmpty)
        XCTAssertFalse(impl.backwardData.isEmpty)
        XCTAssertFalse(impl.backwardWeights.isEmpty)
    }

    func testResultsDoNotDependOnThreadCount() {
        let g = geometry((4, 16, 16, 10, 10, 3, 1, 1))
        let x = random(g.inputShape, seed: 80), w = random(g.weightShape, seed: 81), dy = random(g.outputShape, seed: 82)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [(Tensor, Tensor?, Tensor?)] = []
        for t in [1, 2] {
            Parallel.threadCount = t
            let y = Convolution.forward(x, weight: w, padding: 1, backend: .oneDNN)
            let r = Convolution.backward(dy, input: x, weight: w, padding: 1, backend: .oneDNN)
            results.append((y, r.input, r.weight))
        }
        assertMaxClose(results[0].0, results[1].0, "forward, 1 vs 2 threads")
        assertMaxClose(results[0].1!, results[1].1!, "backward-data, 1 vs 2 threads")
        assertMaxClose(results[0].2!, results[1].2!, "backward-weights, 1 vs 2 threads")
    }

    func testConcurrentCallsFromSeveralThreads() {
        let g = geometry((2, 8, 8, 8, 8, 3, 1, 1))
        let x = random(g.inputShape, seed: 90), w = random(g.weightShape, seed: 91), dy = random(g.outputShape, seed: 92)
        let y = Convolution.forward(x, weight: w, padding: 1, backend: .im2col)
        let ref = Convolution.backward(dy, input: x, weight: w, padding: 1, backend: .im2col)
        let lock = NSLock()
        var failures = 0
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 {
                let a = Convolution.forward(x, weight: w, padding: 1, backend: .oneDNN)
                let r = Convolution.backward(dy, input: x, weight: w, padding: 1, backend: .oneDNN)
                var worst: Float = 0
                for i in 0..<a.count { worst = max(worst, abs(a.storage.pointer[i] - y.storage.pointer[i])) }
                for i in 0..<r.weight!.count {
                    worst = max(worst, abs(r.weight!.storage.pointer[i] - ref.weight!.storage.pointer[i]) / 100)
                }
                for i in 0..<r.input!.count { worst = max(worst, abs(r.input!.storage.pointer[i] - ref.input!.storage.pointer[i])) }
                if worst > 1e-3 { lock.lock(); failures += 1; lock.unlock() }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    /// The default (automatic) backend picks Winograd for wide 3x3 convolutions (from 16 input
    /// channels with oneDNN's AVX2 kernels, the library's; with its AVX-512 ones, the blocked
    /// kernels for 16 to 64 channels, oneDNN's from 64 where it has them for the shape) and
    /// oneDNN's direct kernels otherwise;
    /// gradients through the autodiff op must match the im2col reference.
    func testAutomaticBackendThroughAutodiffMatchesReference() {
        XCTAssertEqual(Convolution.winogradMinimumChannels, OneDNN.hasAVX512Kernels ? 64 : 16)
        let c = Convolution.winogradMinimumChannels
        let x = Tensor.randomUniform([2, c, 7, 9], low: -1, high: 1, seed: 5)
        let w = Tensor.randomUniform([16, c, 3, 3], low: -0.3, high: 0.3, seed: 6)
        let b = Tensor.randomUniform([16], seed: 7)
        let u = Tensor.randomUniform([2, 16, 7, 9], low: -1, high: 1, seed: 8)
        let wide = Conv2DGeometry(inputShape: x.shape, weightShape: w.shape, padding: 1)
        XCTAssertEqual(Convolution.resolve(nil, wide), Convolution.blockedWinogradApplies(wide) ? .blockedWinograd
                       : OneDNNConvolution.supportsWinograd(wide) ? .oneDNNWinograd : .winograd)
        XCTAssertEqual(Convolution.resolve(nil, Conv2DGeometry(inputShape: [2, c - 1, 7, 9], weightShape: [16, c - 1, 3, 3], padding: 1)),
                       .oneDNN)
        func grads(_ backend: ConvolutionBackend) -> [[Float]] {
            let saved = Convolution.backend
            Convolution.backend = backend
            defer { Convolution.backend = saved }
            let (value, g) = valueAndGradient(of: { ($0[0].conv2d(weight: $0[1], bias: $0[2], padding: 1) * u).sum() }, at: [x, w, b])
            return [value.scalars] + g.map(\.scalars)
        }
        let fast = grads(.automatic), reference = grads(.im2col)
        for (a, r) in zip(fast, reference) {
            let scale = r.map { Swift.abs($0) }.max() ?? 1
            for (p, q) in zip(a, r) { XCTAssertEqual(p, q, accuracy: 1e-4 * Swift.max(scale, 1)) }
        }
    }
}
