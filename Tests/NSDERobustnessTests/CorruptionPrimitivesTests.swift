import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// The building blocks against the numbers the reference gives (§2–3 of
/// `cifar10c-corruptions.md`).
final class CorruptionPrimitivesTests: XCTestCase {
    /// 7, 12, 16, 21, 26 factors; the first two lists include 1.06 and 1.11; "1.25" is
    /// 1.2500000000000002.
    func testZoomFactorsFollowNumPyArange() {
        XCTAssertEqual((1 ... 5).map { ZoomBlur.factors(severity: $0).count }, [7, 12, 16, 21, 26])
        XCTAssertEqual(ZoomBlur.factors(severity: 1).last!, 1.06, accuracy: 1e-12)
        XCTAssertEqual(ZoomBlur.factors(severity: 2).last!, 1.11, accuracy: 1e-12)
        XCTAssertEqual(ZoomBlur.factors(severity: 5).last!, 1.2500000000000002)
        XCTAssertEqual(ZoomBlur.factors(severity: 5).first!, 1)
    }

    /// The reference's ch/out table for the zoom-blur factors and the snow zooms at 32 px.
    func testClippedZoomCropAndResizeSizes() {
        let expected: [(Double, Int, Int)] = [
            (1.00, 32, 32), (1.01, 32, 32), (1.02, 32, 33), (1.03, 32, 33), (1.04, 31, 32), (1.05, 31, 33), (1.06, 31, 33),
            (1.07, 30, 32), (1.08, 30, 32), (1.09, 30, 33), (1.10, 30, 33), (1.11, 29, 32), (1.12, 29, 32), (1.13, 29, 33),
            (1.14, 29, 33), (1.15, 28, 32), (1.16, 28, 32), (1.17, 28, 33), (1.18, 28, 33), (1.19, 27, 32), (1.20, 27, 32),
            (1.21, 27, 33), (1.22, 27, 33), (1.23, 27, 33), (1.24, 26, 32), (1.25, 26, 33),
        ]
        let factors = ZoomBlur.factors(severity: 5)
        XCTAssertEqual(factors.count, expected.count)
        for (z, (nominal, ch, out)) in zip(factors, expected) {
            XCTAssertEqual(z, nominal, accuracy: 1e-9)
            let crop = ClippedZoom.crop(32, zoom: z)
            XCTAssertEqual(crop.length, ch, "z = \(z)")
            XCTAssertEqual(ClippedZoom.resized(crop.length, zoom: z), out, "z = \(z)")
        }
        // Snow: 1.75 → ch 19, top 6, out 33; 2.25 → ch 15, top 8, out 34; exact 1.25 → ch 26, top 3, out 32.
        XCTAssertTrue(ClippedZoom.crop(32, zoom: 1.75) == (19, 6))
        XCTAssertEqual(ClippedZoom.resized(19, zoom: 1.75), 33)
        XCTAssertTrue(ClippedZoom.crop(32, zoom: 2.25) == (15, 8))
        XCTAssertEqual(ClippedZoom.resized(15, zoom: 2.25), 34)
        XCTAssertTrue(ClippedZoom.crop(32, zoom: 1.25) == (26, 3))
        XCTAssertEqual(ClippedZoom.resized(26, zoom: 1.25), 32)
        // Zoom 1 is the identity.
        let image = FloatImage.unit(CorruptionTestImages.mixed())
        XCTAssertEqual(ClippedZoom.apply(image, zoom: 1).values, image.values)
    }

    /// Effective defocus kernels: separable 3x3 Gaussians with the reference's 1-D weights, a
    /// 5-pixel plus, a 3x3 box.
    func testDefocusKernels() {
        let oneD: [[Double]] = [[0.0404, 0.9192, 0.0404], [0.1065, 0.7870, 0.1065], [0.1664, 0.6672, 0.1664]]
        for (k, w) in oneD.enumerated() {
            let p = DefocusBlur.parameters[k]
            let taps = DiskKernel(radius: p.radius, aliasSigma: p.aliasSigma).taps
            XCTAssertEqual(taps.count, 9)
            for tap in taps { XCTAssertEqual(tap.weight, w[tap.dy + 1] * w[tap.dx + 1], accuracy: 1e-4) }
        }
        let plus = DiskKernel(radius: 1, aliasSigma: 0.2).taps.filter { $0.weight > 1e-3 }
        XCTAssertEqual(plus.count, 5)
        for tap in plus { XCTAssertEqual(tap.weight, 0.2, accuracy: 1e-4); XCTAssertLessThanOrEqual(abs(tap.dx) + abs(tap.dy), 1) }
        let box = DiskKernel(radius: 1.5, aliasSigma: 0.1).taps.filter { $0.weight > 1e-3 }
        XCTAssertEqual(box.count, 9)
        for tap in box { XCTAssertEqual(tap.weight, 1.0 / 9, accuracy: 1e-4) }
    }

    /// Kernel lengths 13, 13, 13, 17, 19 (motion blur) and 17, 21, 21, 25, 29 (snow); weights
    /// one-sided Gaussian; offsets ceil(i·cos θ − 0.5), ceil(i·sin θ − 0.5).
    func testMotionBlurKernel() {
        XCTAssertEqual(MotionBlur.parameters.map { MotionBlurKernel(radius: $0.radius, sigma: $0.sigma, angleDegrees: 0).taps.count },
                       [13, 13, 13, 17, 19])
        XCTAssertEqual(Snow.parameters.map { MotionBlurKernel(radius: $0.blurRadius, sigma: $0.blurSigma, angleDegrees: -90).taps.count },
                       [17, 21, 21, 25, 29])
        let k = MotionBlurKernel(radius: 6, sigma: 2, angleDegrees: 30)
        XCTAssertEqual(k.taps.map(\.weight).reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(k.taps[1].weight / k.taps[0].weight, exp(-1.0 / 8), accuracy: 1e-12)
        for (i, tap) in k.taps.enumerated() {
            XCTAssertEqual(tap.dx, Int((Double(i) * cos(Double.pi / 6) - 0.5).rounded(.up)))
            XCTAssertEqual(tap.dy, Int((Double(i) * sin(Double.pi / 6) - 0.5).rounded(.up)))
        }
        // θ = 0 blurs to the right: a one-pixel white column spreads leftwards (pixels whose
        // right-hand neighbours include it).
        var image = CorruptionTestImages.constant(0, height: 3, width: 20, channels: 1)
        for y in 0 ..< 3 { image[y, 10, 0] = 255 }
        let out = MotionBlurKernel(radius: 6, sigma: 1, angleDegrees: 0).apply(image)
        XCTAssertEqual(out[1, 11, 0], 0)
        XCTAssertGreaterThan(out[1, 10, 0], out[1, 9, 0])
        XCTAssertGreaterThan(out[1, 9, 0], 0)
    }

    func testGaussianWeightsAndRadius() {
        XCTAssertEqual(GaussianFilter.weights(sigma: 0.05, truncate: 4).count, 1)     // radius int(0.7) = 0
        XCTAssertEqual(GaussianFilter.weights(sigma: 0.25, truncate: 4).count, 3)     // radius 1
        XCTAssertEqual(GaussianFilter.weights(sigma: 6.4, truncate: 3).count, 39)     // radius int(19.7) = 19
        let image = FloatImage.unit(CorruptionTestImages.texture())
        XCTAssertEqual(GaussianFilter.apply(image, sigma: 0.05).values, image.values)
        XCTAssertEqual(GaussianFilter.apply(image, sigma: 0).values, image.values)
    }

    func testBoundaryModes() {
        let n = 4
        XCTAssertEqual((-3 ... 6).map { Boundary.nearest.index($0, n) }, [0, 0, 0, 0, 1, 2, 3, 3, 3, 3])
        XCTAssertEqual((-3 ... 6).map { Boundary.reflect.index($0, n) }, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1])
        XCTAssertEqual((-3 ... 6).map { Boundary.reflect101.index($0, n) }, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
        XCTAssertEqual((-3 ... 6).map { Boundary.wrap.index($0, n) }, [1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
        XCTAssertEqual(Boundary.reflect.index(-9, 1), 0)
    }

    /// Pillow BOX: downscaling averages 1–2 pixels per axis; upscaling is nearest neighbour.
    func testBoxResample() {
        for (input, output) in [(32, 30), (32, 28), (32, 27), (32, 24), (32, 20)] {
            for c in BoxResample.coefficients(input: input, output: output) {
                XCTAssertTrue((1 ... 2).contains(c.weights.filter { $0 > 0 }.count), "\(input) → \(output)")
            }
            for c in BoxResample.coefficients(input: output, output: input) { XCTAssertEqual(c.weights.filter { $0 > 0 }.count, 1) }
        }
        var row = CorruptionTestImages.constant(0, height: 1, width: 4, channels: 1)
        row.pixels = [10, 20, 30, 41]
        XCTAssertEqual(BoxResample.resize(row, height: 1, width: 2).pixels, [15, 36])     // (30 + 41)/2 = 35.5 → 36
        XCTAssertEqual(BoxResample.resize(row, height: 1, width: 8).pixels, [10, 10, 20, 20, 30, 30, 41, 41])
    }

    /// scikit-image's hexcone HSV: round trip, greys, and the blue-over-green-over-red tie rule.
    func testHSV() {
        for (r, g, b) in [(0.2, 0.5, 0.9), (1.0, 0.0, 0.0), (0.3, 0.3, 0.3), (0.9, 0.9, 0.1), (0.0, 0.0, 0.0), (0.5, 0.2, 0.2)] {
            let (h, s, v) = HSV.fromRGB(r, g, b)
            XCTAssertTrue((0 ..< 1).contains(h))
            let back = HSV.toRGB(h, s, v)
            XCTAssertEqual(back.r, r, accuracy: 1e-12); XCTAssertEqual(back.g, g, accuracy: 1e-12); XCTAssertEqual(back.b, b, accuracy: 1e-12)
        }
        XCTAssertTrue(HSV.fromRGB(0.4, 0.4, 0.4) == (0, 0, 0.4))
        XCTAssertEqual(HSV.fromRGB(0, 1, 1).h, 0.5, accuracy: 1e-12)         // green = blue = max: the blue rule, 4 + (r − g)/Δ
        XCTAssertEqual(HSV.fromRGB(1, 0, 1).h, 5.0 / 6, accuracy: 1e-12)
    }

    /// Normalised to [0, 1] with both ends reached; reproducible; depends on the decay.
    func testPlasmaFractal() {
        var a = PhiloxGenerator(seed: 1), b = PhiloxGenerator(seed: 1), c = PhiloxGenerator(seed: 1)
        let p = PlasmaFractal.generate(side: 32, decay: 3, rng: &a)
        XCTAssertEqual(p.count, 1024)
        XCTAssertEqual(p.min(), 0)
        XCTAssertEqual(p.max(), 1)
        XCTAssertEqual(PlasmaFractal.generate(side: 32, decay: 3, rng: &b), p)
        XCTAssertNotEqual(PlasmaFractal.generate(side: 32, decay: 1.75, rng: &c), p)
        // Draws: 1 + 2 values at step 32, 4 + 8 at 16, …: Σ 3·4^k, k = 0...4, = 1023 uniforms of 2 words.
        XCTAssertEqual(a.counter, UInt64((1023 * 2 + 3) / 4))
        XCTAssertEqual(Fog.mapSide(height: 32, width: 32), 32)
        XCTAssertEqual(Fog.mapSide(height: 20, width: 40), 64)
    }

    /// The textures: the release's sizes at 32 px, larger for larger images, bright crystals over
    /// a darker background, mean about 140 of 255, and the same every time.
    func testFrostTextures() {
        for k in 0 ..< 5 {
            let t = FrostTexture.texture(index: k, height: 32, width: 32)
            XCTAssertEqual([t.width, t.height], [FrostTexture.baseSizes[k].width, FrostTexture.baseSizes[k].height])
            let mean = t.values.reduce(0, +) / Double(t.values.count)
            XCTAssertTrue((110 ... 175).contains(mean), "texture \(k) mean \(mean)")
            XCTAssertGreaterThan(t.values.max()!, 230)
            XCTAssertLessThan(t.values.min()!, 90)
            XCTAssertEqual(FrostTexture.generate(index: k, height: t.height, width: t.width, scale: 1).values, t.values)
        }
        XCTAssertTrue(FrostTexture.size(index: 1, height: 64, width: 64) == (126, 224))
        XCTAssertTrue(FrostTexture.size(index: 1, height: 200, width: 10) == (441, 784))
    }
}
