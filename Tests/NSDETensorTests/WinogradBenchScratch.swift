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
