import Foundation

// MARK: - Benchmark

/// Throughput of the three convolution passes, end to end from NCHW tensors to NCHW tensors
/// (layout conversions and output allocation included), for `nsde bench kernels`.
public enum ConvolutionBenchmark {
    /// GFLOP/s of each pass (``Conv2DGeometry/flops`` divided by the median time).
    public struct Result: Sendable {
        public let geometry: Conv2DGeometry
        public let forward: Double
        public let backwardData: Double
        public let backwardWeights: Double
    }

    /// Times `repeats` runs of each pass (after `warmup` untimed ones) on a square `size`x`size`
    /// input with a `kernel`x`kernel` filter and "same" padding unless `padding` is given.
    public static func run(batch: Int, inChannels: Int, outChannels: Int, size: Int, kernel: Int = 3,
                           stride: Int = 1, padding: Int? = nil, repeats: Int = 10, warmup: Int = 2,
                           backend: ConvolutionBackend? = nil) -> Result {
        precondition(repeats >= 1 && warmup >= 0, "ConvolutionBenchmark: repeats must be positive")
        let g = Conv2DGeometry(batch: batch, inChannels: inChannels, height: size, width: size, outChannels: outChannels,
                               kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding ?? kernel / 2)
        func filled(_ shape: [Int], _ seed: UInt32) -> Tensor {
            let t = Tensor(uninitializedShape: shape)
            var s = seed &* 2_654_435_761 | 1
            for i in 0..<t.count {
                s ^= s << 13; s ^= s >> 17; s ^= s << 5
                t.storage.pointer[i] = Float(s % 2001) / 1000 - 1
            }
            return t
        }
        let x = filled(g.inputShape, 1), w = filled(g.weightShape, 2), b = filled([g.outChannels], 3)
        let dy = filled(g.outputShape, 4)
        func time(_ body: () -> Void) -> Double {
            for _ in 0..<warmup { body() }
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            }
            times.sort()
            return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        }
        let f = time { _ = Convolution.forward(x, weight: w, bias: b, stride: g.stride, padding: g.padding, backend: backend) }
        let d = time {
            _ = Convolution.backwardData(dy, weight: w, inputShape: g.inputShape, stride: g.stride, padding: g.padding,
                                         backend: backend)
        }
        let k = time {
            _ = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: true, stride: g.stride,
                                            padding: g.padding, backend: backend)
        }
        return Result(geometry: g, forward: g.flops / f / 1e9, backwardData: g.flops / d / 1e9,
                      backwardWeights: g.flops / k / 1e9)
    }
}
