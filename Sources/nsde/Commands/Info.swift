import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the build configuration, BLAS and oneDNN versions, threads and CPU features.")

        @Flag(help: "Print one JSON object with version, build, blas, blas_core, dnnl, dnnl_runtime, dnnl_isa, winograd_min_channels, winograd_kernels, blocked_winograd, register_tiled_gemm, kernels_isa, threads, cpu, cpu_features.")
        var json = false

        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let version: String
            let build: String
            let blas: String
            let blas_core: String
            let dnnl: String
            let dnnl_runtime: String
            /// oneDNN's effective instruction set (`avx512_core`, `avx2`, ...).
            let dnnl_isa: String
            /// Input channels from which 3x3 convolutions run as Winograd (``Convolution/winogradMinimumChannels``).
            let winograd_min_channels: Int
            /// Whose Winograd kernels those convolutions use: `onednn` (its `jit_wino_4x3`, on AVX-512
            /// processors) or `library` (``WinogradConvolution``).
            let winograd_kernels: String
            /// Whether the narrower 3x3 convolutions (16 to winograd_min_channels − 1 channels,
            /// multiples of 16) run as the library's Winograd F(2x2, 3x3) on nChw16c
            /// (``Convolution/blockedWinogradApplies(_:)``: processors where oneDNN runs AVX-512 kernels).
            let blocked_winograd: Bool
            /// Whether small products (an MLP drift's layers) run on the library's register-tiled
            /// GEMM with fused epilogues (``RegisterTiledGEMM/isFast``: AVX-512 processors).
            let register_tiled_gemm: Bool
            /// The instruction-set level of the C elementwise kernels (``SystemInfo/elementwiseKernelISA``).
            let kernels_isa: String
            let threads: Int
            let cores: Int
            let cpu: String
            let cpu_features: [String]
        }

        func run() throws {
            try threadOptions.apply()
            let cpu = SystemInfo.cpu
            let report = Report(
                version: NeuralSDEVersion.string, build: SystemInfo.buildConfiguration,
                blas: GEMM.openBLASConfig, blas_core: GEMM.openBLASCore,
                dnnl: OneDNN.version, dnnl_runtime: OneDNN.runtime, dnnl_isa: OneDNN.effectiveISA,
                winograd_min_channels: Convolution.winogradMinimumChannels,
                winograd_kernels: Convolution.oneDNNWinogradSupports(inputShape: [1, 64, 8, 8], weightShape: [64, 64, 3, 3]) ? "onednn" : "library",
                blocked_winograd: Convolution.blockedWinogradApplies(
                    Conv2DGeometry(batch: 1, inChannels: 16, height: 8, width: 8, outChannels: 16, kernelHeight: 3, kernelWidth: 3,
                                   stride: 1, padding: 1)),
                register_tiled_gemm: RegisterTiledGEMM.isFast,
                kernels_isa: SystemInfo.elementwiseKernelISA,
                threads: Parallel.threadCount,
                cores: ProcessInfo.processInfo.activeProcessorCount, cpu: cpu.model, cpu_features: cpu.features)
            if json { try printJSON(report); return }
            print("""
            nsde \(report.version) (\(report.build) build)
            BLAS:     \(report.blas) [core \(report.blas_core)]
            oneDNN:   \(report.dnnl) (\(report.dnnl_runtime), \(report.dnnl_isa) kernels; 3x3 convolutions from \(report.winograd_min_channels) channels as Winograd, \(report.winograd_kernels == "onednn" ? "oneDNN's kernels" : "the library's kernels")\(report.blocked_winograd ? "; from 16 as Winograd F(2x2, 3x3) on nChw16c, the library's kernels" : ""))
            GEMM:     oneDNN\(report.register_tiled_gemm ? "; small products (an MLP's layers) on the library's register-tiled kernel with fused bias, tanh and update" : ""); narrow outputs on OpenBLAS
            kernels:  \(report.kernels_isa) (Philox normals, tanh, elementwise arithmetic; same bits at every level)
            threads:  \(report.threads) of \(report.cores) cores (training and evaluation: one batch shard per thread)
            CPU:      \(report.cpu)
            features: \(report.cpu_features.joined(separator: " "))
            """)
        }
    }
}
