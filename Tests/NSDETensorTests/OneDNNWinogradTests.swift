import XCTest
@testable import NSDETensor
import NSDETestSupport

/// oneDNN's Winograd kernels (``ConvolutionBackend/oneDNNWinograd``) against the im2col
/// reference, every pass, on the shapes the paper's models use; skipped on processors where
/// oneDNN has none (no AVX-512).
final class OneDNNWinogradTests: XCTestCase {
    func testMatchesIm2Col() throws {
        var checked = 0
        var worst = 0.0
        for (i, (n, c, o, size, padding)) in [(2, 64, 64, 8, 1), (3, 64, 64, 10, 1), (2, 64, 64, 9, 0), (2, 16, 16, 7, 1),
                                              (1, 32, 48, 6, 1)].enumerated() {
            let g = Conv2DGeometry(batch: n, inChannels: c, height: size, width: size, outChannels: o, kernelHeight: 3,
                                   kernelWidth: 3, stride: 1, padding: padding)
            guard OneDNNConvolution.supportsWinograd(g) else { continue }
            checked += 1
            let seed = UInt64(40 + 10 * i)
            let x = TestData.uniform(g.inputShape, seed: seed), w = TestData.uniform(g.weightShape, seed: seed + 1)
            let b = TestData.uniform([o], seed: seed + 2), dy = TestData.uniform(g.outputShape, seed: seed + 3)
            let y = Convolution.forward(x, weight: w, bias: b, padding: padding, backend: .oneDNNWinograd)
            let yRef = Convolution.forward(x, weight: w, bias: b, padding: padding, backend: .im2col)
            let r = Convolution.backward(dy, input: x, weight: w, padding: padding, needBias: true, backend: .oneDNNWinograd)
            let rRef = Convolution.backward(dy, input: x, weight: w, padding: padding, needBias: true, backend: .im2col)
            for (name, got, want) in [("forward", y, yRef), ("backward-data", r.input!, rRef.input!),
                                      ("backward-weights", r.weight!, rRef.weight!), ("bias", r.bias!, rRef.bias!)] {
                let error = relativeError(got, want)
                worst = max(worst, error)
                XCTAssertLessThan(error, 2e-5, "\(name) \(g)")
            }
        }
        if checked == 0 { throw XCTSkip("oneDNN has no Winograd kernels on this processor") }
        print("oneDNN Winograd against im2col: largest relative error \(worst) over \(checked) shapes")
    }

    /// ``ConvolutionBackend/automatic`` uses the blocked Winograd kernels for 16 to 64 channels
    /// where oneDNN runs AVX-512 kernels, oneDNN's Winograd kernels for wider convolutions where it
    /// has them, the library's Winograd where it does not, and oneDNN's direct kernels for narrow
    /// layers.
    func testAutomaticChoice() {
        for channels in [64, 128] {
            let wide = Conv2DGeometry(batch: 2, inChannels: channels, height: 8, width: 8, outChannels: 64, kernelHeight: 3,
                                      kernelWidth: 3, stride: 1, padding: 1)
            let expected: ConvolutionBackend = Convolution.blockedWinogradApplies(wide) ? .blockedWinograd
                : Convolution.winogradMinimumChannels > channels ? .oneDNN
                : (OneDNNConvolution.supportsWinograd(wide) ? .oneDNNWinograd : .winograd)
            XCTAssertEqual(Convolution.resolve(nil, wide), expected)
            XCTAssertEqual(Convolution.blockedWinogradApplies(wide), OneDNN.hasAVX512Kernels && channels == 64)
        }
        let narrow = Conv2DGeometry(batch: 2, inChannels: 1, height: 8, width: 8, outChannels: 16, kernelHeight: 3,
                                    kernelWidth: 3, stride: 1, padding: 1)
        XCTAssertEqual(Convolution.resolve(nil, narrow), .oneDNN)
    }
}
