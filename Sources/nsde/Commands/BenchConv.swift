import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct Conv: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "conv",
            abstract: "Compare the convolution backends on one shape (forward, backward-data, backward-weights).",
            discussion: """
            Times the three passes of one convolution geometry end to end (NCHW in, NCHW out, layout \
            conversions included) with every backend: the automatic choice, oneDNN's direct kernels \
            (with the implementation oneDNN picked, e.g. jit:avx512_core), the library's Winograd \
            F(4x4, 3x3) (3x3, stride 1 only), oneDNN's Winograd kernels (onednn-winograd: AVX-512 \
            processors, shapes they accept) and the im2col reference. GFLOP/s count direct-convolution FLOPs \
            (2·N·O·C·kh·kw·Ho·Wo per pass), so Winograd's can exceed the machine's peak. The default \
            shape is a narrow model's: batch 32, 16 -> 16 channels at 26x26 (the width-16 classifier on \
            Fashion-MNIST).
            """)

        @Option(help: "Batch size N.") var batch: Int = 32
        @Option(name: .customLong("in"), help: "Input channels C.") var inChannels: Int = 16
        @Option(name: .customLong("out"), help: "Output channels O.") var outChannels: Int = 16
        @Option(help: "Input height and width.") var size: Int = 26
        @Option(help: "Kernel height and width.") var kernel: Int = 3
        @Option(help: "Stride.") var stride: Int = 1
        @Option(help: "Zero padding on each side (default kernel / 2).") var padding: Int?
        @Option(help: "Timed repetitions per pass (median reported).") var repeats: Int = 20
        @Flag(help: "Print one JSON object: per backend, forward_gflops, backward_data_gflops, backward_weights_gflops.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        func validate() throws {
            guard batch > 0, inChannels > 0, outChannels > 0, kernel > 0, stride > 0, repeats > 0 else {
                throw ValidationError("--batch, --in, --out, --kernel, --stride and --repeats must be positive")
            }
            guard (1...4096).contains(size), kernel <= size + 2 * (padding ?? kernel / 2) else {
                throw ValidationError("--size must be in 1...4096 and at least the kernel (with padding), got \(size)")
            }
            if let padding, padding < 0 { throw ValidationError("--padding must be non-negative, got \(padding)") }
        }

        struct Row: Encodable {
            let backend: String, forward_gflops: Double, backward_data_gflops: Double, backward_weights_gflops: Double
        }

        func run() throws {
            try threadOptions.apply()
            let pad = padding ?? kernel / 2
            let geometry = Conv2DGeometry(batch: batch, inChannels: inChannels, height: size, width: size, outChannels: outChannels,
                                          kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: pad)
            var backends: [(String, ConvolutionBackend)] = [("automatic", .automatic), ("onednn", .oneDNN)]
            if WinogradConvolution.supports(geometry) { backends.append(("winograd", .winograd)) }
            if Convolution.oneDNNWinogradSupports(inputShape: geometry.inputShape, weightShape: geometry.weightShape,
                                                  padding: geometry.padding), geometry.stride == 1 {
                backends.append(("onednn-winograd", .oneDNNWinograd))
            }
            if Convolution.blockedWinogradSupports(geometry) { backends.append(("blocked-winograd", .blockedWinograd)) }
            backends.append(("im2col", .im2col))
            var rows: [Row] = []
            for (name, backend) in backends {
                let r = ConvolutionBenchmark.run(batch: batch, inChannels: inChannels, outChannels: outChannels, size: size,
                                                 kernel: kernel, stride: stride, padding: pad, repeats: repeats, backend: backend)
                rows.append(Row(backend: name, forward_gflops: r.forward, backward_data_gflops: r.backwardData,
                                backward_weights_gflops: r.backwardWeights))
            }
            let impl = Convolution.oneDNNImplementations(inputShape: geometry.inputShape, weightShape: geometry.weightShape,
                                                         stride: stride, padding: pad)
            if json {
                struct Report: Encodable {
                    let geometry: String, threads: Int, onednn_implementations: [String], backends: [Row]
                }
                try printJSON(Report(geometry: geometry.description, threads: Parallel.threadCount,
                                     onednn_implementations: [impl.forward, impl.backwardData, impl.backwardWeights], backends: rows))
                return
            }
            print("\(geometry.description), \(Parallel.threadCount) threads; GFLOP/s as direct-convolution FLOPs per second")
            print("backend            forward  bwd-data  bwd-weights")
            for r in rows {
                print(String(format: "%-16@ %9.1f %9.1f %12.1f", r.backend as NSString, r.forward_gflops, r.backward_data_gflops,
                             r.backward_weights_gflops))
            }
            print("oneDNN implementations: forward \(impl.forward), backward-data \(impl.backwardData), backward-weights \(impl.backwardWeights)")
        }
    }
}
