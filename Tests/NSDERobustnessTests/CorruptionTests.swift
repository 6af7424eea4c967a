import NSDEData
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// Properties every corruption must have: shape kept, reproducible from the seed, severity
/// ordering, greyscale and other sizes.
final class CorruptionTests: XCTestCase {
    let images = CorruptionTestImages.all()

    func testRegistryHoldsTheFifteenBenchmarkCorruptionsInReleaseOrder() throws {
        XCTAssertEqual(Corruptions.names, CIFAR10C.Corruption.benchmark.map(\.rawValue))
        for name in Corruptions.names { XCTAssertEqual(try Corruptions.named(name).name, name) }
        XCTAssertEqual(Set(Corruptions.benchmark.filter { !$0.isRandom }.map(\.name)),
                       ["defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression"])
    }

    func testUnknownNameAndBadSeverityAreClearErrors() {
        XCTAssertThrowsError(try Corruptions.named("gausian_noise")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("unknown corruption 'gausian_noise' (valid: gaussian_noise, shot_noise,"), text)
            XCTAssertTrue(text.hasSuffix("pixelate, jpeg_compression)"), text)
        }
        XCTAssertThrowsError(try Corruptions.validate(severity: 6)) { error in
            XCTAssertEqual("\(error)", "severity must be 1...5, got 6")
        }
        XCTAssertThrowsError(try CorruptionBatch(images: images).corrupted(by: Contrast(), severity: 0, seed: 0)) { error in
            XCTAssertEqual(error as? RobustnessError, .severityOutOfRange(severity: 0, valid: 1...5))
        }
    }

    /// Shape and channels are kept for RGB and greyscale at every severity, and severity 5
    /// changes every test image.
    func testEveryCorruptionKeepsTheShapeAndChangesTheImage() {
        let inputs = images + images.map(CorruptionTestImages.grey)
        for corruption in Corruptions.benchmark {
            for severity in 1 ... 5 {
                for (k, image) in inputs.enumerated() {
                    let out = corruption.apply(image, severity: severity, seed: 1, index: k)
                    XCTAssertEqual([out.height, out.width, out.channels], [image.height, image.width, image.channels],
                                   corruption.name)
                    XCTAssertEqual(out.pixels.count, image.pixels.count, corruption.name)
                    if severity == 5 {
                        XCTAssertGreaterThan(out.meanAbsoluteDifference(to: image), 0, "\(corruption.name) image \(k)")
                    }
                }
            }
        }
    }

    /// Values stay in range in the sense that matters for uint8: no corruption collapses an image
    /// to a constant or saturates most of it.
    func testOutputsAreNotDegenerate() {
        for corruption in Corruptions.benchmark {
            for severity in [1, 5] {
                for (k, image) in images.enumerated() {
                    let out = corruption.apply(image, severity: severity, seed: 2, index: k)
                    let saturated = out.pixels.filter { $0 == 0 || $0 == 255 }.count
                    XCTAssertLessThan(Double(saturated) / Double(out.pixels.count), 0.6, "\(corruption.name) \(severity) image \(k)")
                    XCTAssertGreaterThan(Set(out.pixels).count, 1, "\(corruption.name) \(severity) image \(k)")
                }
            }
        }
    }

    func testSameSeedGivesIdenticalBytesAndAnotherSeedDiffers() {
        for corruption in Corruptions.benchmark {
            for severity in [1, 3, 5] {
                for (k, image) in images.enumerated() {
                    let a = corruption.apply(image, severity: severity, seed: 42, index: k)
                    let b = corruption.apply(image, severity: severity, seed: 42, index: k)
                    XCTAssertEqual(a.pixels, b.pixels, "\(corruption.name) \(severity)")
                    let c = corruption.apply(image, severity: severity, seed: 43, index: k)
                    let d = corruption.apply(image, severity: severity, seed: 42, index: k + 1)
                    if corruption.isRandom {
                        XCTAssertNotEqual(a.pixels, c.pixels, "\(corruption.name) \(severity): seed has no effect")
                        XCTAssertNotEqual(a.pixels, d.pixels, "\(corruption.name) \(severity): image index has no effect")
                    } else {
                        XCTAssertEqual(a.pixels, c.pixels, "\(corruption.name) \(severity)")
                        XCTAssertEqual(a.pixels, d.pixels, "\(corruption.name) \(severity)")
                    }
                }
            }
        }
    }

    /// A deterministic corruption leaves the generator where it was.
    func testDeterministicCorruptionsDrawNothing() {
        for corruption in Corruptions.benchmark where !corruption.isRandom {
            var rng = PhiloxGenerator(seed: 5, stream: 9)
            _ = corruption.apply(images[3], severity: 4, rng: &rng)
            XCTAssertEqual(rng.counter, 0, corruption.name)
        }
    }

    /// Streams: the key mixes in the name, the stream holds severity and image index.
    func testStreamsSeparateCorruptionsSeveritiesAndImages() {
        let keys = Set(Corruptions.names.map { CorruptionStreams.generator(seed: 7, corruption: $0, severity: 1, index: 0).seed })
        XCTAssertEqual(keys.count, 15)
        let g = CorruptionStreams.generator(seed: 7, corruption: "fog", severity: 3, index: 12)
        XCTAssertEqual(g.seed, 7 ^ CorruptionStreams.fnv1a64("fog"))
        XCTAssertEqual(g.stream, 3 << 48 | 12)
        XCTAssertEqual(CorruptionStreams.fnv1a64(""), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(CorruptionStreams.fnv1a64("a"), 0xAF63_DC4C_8601_EC8C)   // FNV-1a test vector
    }

    // MARK: - Severity

    /// Mean absolute change from the clean image (0...255 units) per severity, averaged over the
    /// four test images and three seeds; the random draws are shared across severities (the same
    /// generator state for each), so the table shows the effect of the severity alone.
    func macTable() -> [String: [Double]] {
        var table = [String: [Double]]()
        for corruption in Corruptions.benchmark {
            table[corruption.name] = (1 ... 5).map { severity in
                var total = 0.0, n = 0.0
                for seed: UInt64 in 0 ..< 3 {
                    for (k, image) in images.enumerated() {
                        var rng = CorruptionStreams.generator(seed: seed, corruption: corruption.name, severity: 1, index: k)
                        total += corruption.apply(image, severity: severity, rng: &rng).meanAbsoluteDifference(to: image)
                        n += 1
                    }
                }
                return total / n
            }
        }
        return table
    }

    /// Severity pairs (s, s + 1) where the release's own parameters make the mean absolute change
    /// fall, with the reason; everything else must not fall (beyond 2 % + 0.05).
    static let nonMonotonePairs: [String: (pairs: Set<Int>, reason: String)] = [
        "elastic_transform": ([1, 2, 3, 4], "the affine jitter shrinks from 2.56 to 0.96 px while the smooth displacement grows only to ~0.5 px"),
        "frost": ([3, 4], "the image weight falls 0.9 → 0.85 → 0.75 (darkening) while the frost weight stays 0.4 → 0.45"),
        "pixelate": ([1], "32 → 28 px blocks align with the 8-px edges of the test image; 32 → 30 px do not"),
    ]

    func testMeanAbsoluteChangeGrowsWithSeverity() {
        let table = macTable()
        var lines = ["corruption          s1      s2      s3      s4      s5"]
        for name in Corruptions.names {
            let row = table[name]!
            lines.append(name.padding(toLength: 18, withPad: " ", startingAt: 0)
                         + row.map { String(format: "%8.2f", $0) }.joined())
            let exceptions = Self.nonMonotonePairs[name]?.pairs ?? []
            for s in 1 ... 4 where !exceptions.contains(s) {
                XCTAssertGreaterThanOrEqual(row[s], row[s - 1] * 0.98 - 0.05, "\(name): severity \(s + 1) changes less than \(s): \(row)")
            }
            XCTAssertGreaterThan(row[4], 0, name)
        }
        print(lines.joined(separator: "\n"))
        // The exceptions are as documented, not accidents.
        let elastic = table["elastic_transform"]!
        XCTAssertGreaterThan(elastic[0], elastic[4])
        let frost = table["frost"]!
        XCTAssertLessThan(frost[0], frost[1])
        XCTAssertLessThan(frost[1], frost[2])
    }

    /// Frost on a black image shows the frost layer alone, whose weight b = 0.2, 0.3, 0.4, 0.4,
    /// 0.45 never falls.
    func testFrostLayerGrowsWithSeverityOnBlack() {
        let black = CorruptionTestImages.constant(0)
        let means = (1 ... 5).map { severity -> Double in
            var rng = PhiloxGenerator(seed: 3, stream: 0)
            return Frost().apply(black, severity: severity, rng: &rng).meanAbsoluteDifference(to: black)
        }
        for s in 1 ..< 5 { XCTAssertGreaterThanOrEqual(means[s], means[s - 1] - 0.5, "\(means)") }
        XCTAssertEqual(means[4] / means[0], 0.45 / 0.2, accuracy: 0.05)
    }

    // MARK: - Greyscale and sizes

    /// For the corruptions that treat channels alike and draw the same numbers whatever the
    /// channel count, a greyscale image gives exactly the first channel of the same grey
    /// replicated to RGB. (The noise corruptions draw per value, frost converts its colour
    /// texture to grey, snow's grey conversion and JPEG's chroma differ slightly, so they are
    /// covered by the shape tests instead.)
    func testGreyscaleEqualsReplicatedRGBForChannelwiseCorruptions() throws {
        let names = ["defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "fog", "brightness", "contrast",
                     "elastic_transform", "pixelate"]
        for name in names {
            let corruption = try Corruptions.named(name)
            for severity in 1 ... 5 {
                for (k, image) in images.enumerated() {
                    let grey = CorruptionTestImages.grey(image)
                    let direct = corruption.apply(grey, severity: severity, seed: 9, index: k)
                    let viaRGB = CorruptionTestImages.grey(corruption.apply(CorruptionTestImages.rgb(grey), severity: severity, seed: 9, index: k))
                    XCTAssertEqual(direct.pixels, viaRGB.pixels, "\(name) severity \(severity) image \(k)")
                }
            }
        }
    }

    /// Non-square, larger, tiny and greyscale images all work for every corruption.
    func testOtherSizesWork() {
        let inputs = [CorruptionTestImages.mixed(height: 20, width: 28), CorruptionTestImages.edges(height: 64, width: 48),
                      CorruptionTestImages.grey(CorruptionTestImages.texture(height: 37, width: 23)),
                      CorruptionTestImages.gradient(height: 3, width: 5), CorruptionTestImages.constant(77, height: 1, width: 1),
                      CorruptionTestImages.constant(200, height: 2, width: 1, channels: 1)]
        for corruption in Corruptions.benchmark {
            for severity in [1, 5] {
                for image in inputs {
                    let out = corruption.apply(image, severity: severity, seed: 4)
                    XCTAssertEqual([out.height, out.width, out.channels], [image.height, image.width, image.channels],
                                   "\(corruption.name) \(image.height)x\(image.width)")
                }
            }
            let big = corruption.apply(inputs[1], severity: 5, seed: 4)
            XCTAssertGreaterThan(big.meanAbsoluteDifference(to: inputs[1]), 0, corruption.name)
        }
    }
}
