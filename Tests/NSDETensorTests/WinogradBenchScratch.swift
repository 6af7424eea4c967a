// THROWAWAY benchmark (to be deleted). Runs only with NSDE_WB=1.
import Dispatch
import Foundation
import XCTest
@testable import NSDETensor

final class WinogradBenchScratch: XCTestCase {
    func env(_ k: String) -> String? { ProcessInfo.processInfo.environment[k] }
    func time(_ reps: Int, _ body: () -> Void) -> Double {
        body()
        var ts: [Double] = []
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-6)
        }
        ts.sort(); return ts[ts.count / 2]
    }
    func testBench() throws {
        guard env("NSDE_WB") == "1" else { throw XCTSkip("bench") }
        let shapes = (env("NSDE_WB_SHAPES") ?? "128,64,64,30;128,65,64,30;64,64,64,32;64,64,64,16").split(separator: ";").map {
            $0.split(separator: ",").map { Int($0)! } }
        let threads = (env("NSDE_WB_THREADS") ?? "1,2").split(separator: ",").map { Int($0)! }
        let tilesList = (env("NSDE_WB_TILES") ?? "256").split(separator: ",").map { Int($0)! }
        let gemms = (env("NSDE_WB_GEMM") ?? "blas").split(separator: ",").map(String.init)
        let reps = Int(env("NSDE_WB_REPS") ?? "5")!
        let doDNN = env("NSDE_WB_DNN") != "0"
        for s in shapes {
            let (n, c, o, hw) = (s[0], s[1], s[2], s[3])
            let g = Conv2DGeometry(batch: n, inChannels: c, height: hw, width: hw, outChannels: o, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
            let x = Tensor.randomUniform(g.inputShape, low: -1, high: 1, seed: 1)
            let w = Tensor.randomUniform(g.weightShape, low: -1, high: 1, seed: 2)
            let b = Tensor.randomUniform([o], low: -1, high: 1, seed: 3)
            let dy = Tensor.randomUniform(g.outputShape, low: -1, high: 1, seed: 4)
            let gf = g.flops / 1e6
            for t in threads {
                Parallel.threadCount = t
                if doDNN {
                    let f = time(reps) { _ = Convolution.forward(x, weight: w, bias: b, padding: 1) }
                    let d = time(reps) { _ = Convolution.backwardData(dy, weight: w, inputShape: g.inputShape, padding: 1) }
                    let k = time(reps) { _ = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: true, padding: 1) }
                    print(String(format: "RES %@ t=%d oneDNN      fwd %7.2f ms %6.1f GF | bwdD %7.2f ms %6.1f GF | bwdW %7.2f ms %6.1f GF",
                                 "\(n),\(c),\(o),\(hw)", t, f, gf / f, d, gf / d, k, gf / k))
                }
                for gm in gemms {
                    WinogradConvolution.gemmBackend = gm == "dnnl" ? .oneDNN : .openBLAS
                    for tl in tilesList {
                        WinogradConvolution.blockTiles = tl
                        let f = time(reps) { _ = WinogradConvolution.forward(x, weight: w, bias: b) }
                        let d = time(reps) { _ = WinogradConvolution.backwardData(dy, weight: w) }
                        let k = time(reps) { _ = WinogradConvolution.backwardWeights(dy, input: x, withBias: true) }
                        print(String(format: "RES %@ t=%d wino %@ %4d fwd %7.2f ms %6.1f GF | bwdD %7.2f ms %6.1f GF | bwdW %7.2f ms %6.1f GF",
                                     "\(n),\(c),\(o),\(hw)", t, gm, tl, f, gf / f, d, gf / d, k, gf / k))
                    }
                }
            }
        }
    }
}

extension WinogradBenchScratch {
    func testBreakdown() throws {
        guard env("NSDE_WB_BD") == "1" else { throw XCTSkip("bench") }
        Parallel.threadCount = 1
        let (n, c, o, hw) = (128, 64, 64, 30)
        let x = Tensor.randomUniform([n, c, hw, hw], low: -1, high: 1, seed: 1)
        let w = Tensor.randomUniform([o, c, 3, 3], low: -1, high: 1, seed: 2)
        let y = Tensor(uninitializedShape: [n, o, hw, hw])
        let t = WinogradConvolution.TileGeometry(batch: n, height: hw, width: hw, padding: 1)
        let u = TensorStorage(uninitializedCount: 36 * o * c)
        WinogradConvolution.transformWeights(w.storage.pointer, outChannels: o, inChannels: c, flipped: false, into: u.pointer)
        for tl in (env("NSDE_WB_TILES") ?? "128,256,512").split(separator: ",").map({ Int($0)! }) {
            for gm in ["blas", "dnnl"] {
                WinogradConvolution.gemmBackend = gm == "dnnl" ? .oneDNN : .openBLAS
                WinogradConvolution.blockTiles = tl
                let plan = WinogradConvolution.BlockPlan(t, threads: 1)
                let ld = plan.leadingDimension
                let v = TensorStorage(uninitializedCount: 36 * c * ld), m = TensorStorage(uninitializedCount: 36 * o * ld)
                m.pointer.update(repeating: 0, count: 36 * o * ld)
                let scratch = WinogradConvolution.Scratch(t)
                var ti = 0.0, tg = 0.0, to = 0.0
                for rep in 0..<3 {
                    for b in 0..<plan.blocks {
                        let rows = plan.rows(b)
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        WinogradConvolution.transformInput(t, x.storage.pointer, channels: c, rows: rows, into: v.pointer, ld: ld, scratch: scratch)
                        let t1 = DispatchTime.now().uptimeNanoseconds
                        for e in 0..<36 {
                            WinogradConvolution.sgemm(transB: false, m: o, n: rows.count * t.tilesW, k: c, a: u.pointer + e * o * c, lda: c,
                                                      b: v.pointer + e * c * ld, ldb: ld, beta: 0, c: m.pointer + e * o * ld, ldc: ld)
                        }
                        let t2 = DispatchTime.now().uptimeNanoseconds
                        WinogradConvolution.transformOutput(t, m.pointer, ld: ld, channels: o, rows: rows, bias: nil, into: y.storage.pointer, scratch: scratch)
                        let t3 = DispatchTime.now().uptimeNanoseconds
                        if rep > 0 { ti += Double(t1 - t0) * 1e-6 / 2; tg += Double(t2 - t1) * 1e-6 / 2; to += Double(t3 - t2) * 1e-6 / 2 }
                    }
                }
                let gemmFlops = 2.0 * 36 * Double(o * c) * Double(t.tileRows * t.tilesW)
                print(String(format: "BD tiles %4d %@: input %.2f ms, gemm %.2f ms (%.1f GF), output %.2f ms", tl, gm, ti, tg, gemmFlops / tg / 1e6, to))
            }
        }
    }
}
