import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM and 3x3 convolution throughput in GFLOP/s.",
            discussion: """
            GEMM (automatic backend) at 512^3 and at the shapes a 3x3 convolution lowers to; the \
            GEMMs of an MLP drift [256, 64] -> Linear(64, 128) -> Linear(128, 64) (forward x·Wᵀ, \
            backward dY·W and dYᵀ·X) on OpenBLAS, oneDNN, the library's register-tiled kernel \
            (BACKEND tiled; untransposed B only) and the automatic choice \
            (gemm_mlp_MxNxK_OP_BACKEND_gflops); \
            convolution forward, backward-data and backward-weights on batch 64, 64->64 channels, \
            3x3, padding 1, at 32x32 (the JSON contract fields) and 16x16: with the default \
            backend (Winograd here; GFLOP/s counted as direct-convolution FLOPs per second), and \
            with oneDNN's direct kernels and Winograd separately (_onednn, _winograd suffixes).
            """)

        @Option(help: "Timed repetitions per kernel (median reported).")
        var repeats: Int = 10
        @Flag(help: "Print one JSON object: gemm_512_gflops, conv3x3_fwd_gflops, conv3x3_bwd_data_gflops, conv3x3_bwd_weight_gflops (32x32) and more.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        func validate() throws {
            guard repeats > 0 else { throw ValidationError("--repeats must be positive, got \(repeats)") }
        }

        func run() throws {
            try threadOptions.apply()
            var report: [String: Double] = ["threads": Double(Parallel.threadCount)]
            // MARK: GEMM
            func gemm(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false,
                      backend: GEMMBackend = .automatic, repeats: Int = repeats) -> Double {
                measureGEMMGFLOPs(m, n, k, transA: transA, transB: transB, backend: backend, repeats: repeats)
            }
            report["gemm_512_gflops"] = measureReferenceGEMMGFLOPs(repeats: repeats)
            // A 3x3, 64->64 convolution on one 32x32 image lowered by im2col: [64 x 576] x [576 x 1024].
            report["gemm_conv_like_64x1024x576_gflops"] = gemm(64, 1024, 576)
            // The weight-gradient shape of the same convolution: [64 x 1024] x [1024 x 576].
            report["gemm_conv_like_64x576x1024_gflops"] = gemm(64, 576, 1024)
            // The MLP drift's GEMMs (batch 256, 64 -> 128 -> 64): forward x·Wᵀ (NT), backward
            // dX = dY·W (NN) and dW = dYᵀ·X (TN), each small, so timed 20x more often.
            let mlp: [(Int, Int, Int, Bool, Bool)] = [
                (256, 128, 64, false, true), (256, 64, 128, false, true),    // forward
                (256, 64, 128, false, false), (256, 128, 64, false, false),  // dX
                (128, 64, 256, true, false), (64, 128, 256, true, false),    // dW
            ]
            for (m, n, k, ta, tb) in mlp {
                // The register-tiled kernel takes B untransposed only (the forward product reads the
                // transposed weight there).
                let backends = [(GEMMBackend.automatic, "auto"), (.openBLAS, "openblas"), (.oneDNN, "onednn")] + (tb ? [] : [(.registerTiled, "tiled")])
                for (backend, label) in backends {
                    let op = (ta ? "t" : "n") + (tb ? "t" : "n")
                    report["gemm_mlp_\(m)x\(n)x\(k)_\(op)_\(label)_gflops"] =
                        gemm(m, n, k, transA: ta, transB: tb, backend: backend, repeats: 20 * repeats)
                }
            }
            // MARK: Convolution
            // The default backend (Winograd for these shapes) as the contract fields, in
            // "effective" GFLOP/s (direct-convolution FLOPs / time), then oneDNN's direct kernels.
            for (backend, label) in [(ConvolutionBackend.automatic, ""), (.oneDNN, "_onednn"), (.winograd, "_winograd")] {
                for size in [32, 16] {
                    let r = ConvolutionBenchmark.run(batch: 64, inChannels: 64, outChannels: 64, size: size,
                                                     repeats: repeats, backend: backend)
                    let suffix = (size == 32 ? "" : "_\(size)") + label
                    report["conv3x3_fwd_gflops\(suffix)"] = r.forward
                    report["conv3x3_bwd_data_gflops\(suffix)"] = r.backwardData
                    report["conv3x3_bwd_weight_gflops\(suffix)"] = r.backwardWeights
                }
            }
            if json { try printJSON(report); return }
            for key in report.keys.sorted() { print(String(format: "%-36@ %8.1f", key as NSString, report[key]!)) }
        }
    }
}
