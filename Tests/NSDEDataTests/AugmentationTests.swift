import XCTest
import NSDETensor
import NSDEData

final class AugmentationTests: XCTestCase {
    // 1 2 3
    // 4 5 6
    // 7 8 9
    let image: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]

    func crop(_ dy: Int, _ dx: Int, padding: Int = 1) -> [Float] {
        Augmentation.crop(image, channels: 1, height: 3, width: 3, padding: padding, offsetY: dy, offsetX: dx)
    }

    func testCropMovesContent() {
        XCTAssertEqual(crop(1, 1), image, "centre window is the identity")
        XCTAssertEqual(crop(0, 0), [0, 0, 0,
                                    0, 1, 2,
                                    0, 4, 5], "window at the top-left of the padded image shifts content down-right")
        XCTAssertEqual(crop(2, 2), [5, 6, 0,
                                    8, 9, 0,
                                    0, 0, 0])
        XCTAssertEqual(crop(0, 2), [0, 0, 0,
                                    2, 3, 0,
                                    5, 6, 0])
        XCTAssertEqual(crop(1, 0), [0, 1, 2,
                                    0, 4, 5,
                                    0, 7, 8])
        XCTAssertEqual(crop(0, 0, padding: 3), [Float](repeating: 0, count: 9), "shift beyond the image")
        XCTAssertEqual(crop(1, 4, padding: 2), [0, 0, 0,
                                                3, 0, 0,
                                                6, 0, 0])
    }

    func testCropMultiChannel() {
        let two: [Float] = [1, 2, 3, 4, 10, 20, 30, 40]   // 2 channels of 2x2
        XCTAssertEqual(Augmentation.crop(two, channels: 2, height: 2, width: 2, padding: 1, offsetY: 2, offsetX: 1),
                       [3, 4, 0, 0, 30, 40, 0, 0])
    }

    func testFlip() {
        XCTAssertEqual(Augmentation.flipHorizontally(image, channels: 1, height: 3, width: 3), [3, 2, 1, 6, 5, 4, 9, 8, 7])
        XCTAssertEqual(Augmentation.flipHorizontally([1, 2, 3, 4, 5, 6], channels: 2, height: 1, width: 3), [3, 2, 1, 6, 5, 4])
    }

    /// Every augmented image must equal crop-then-maybe-flip at some offset; the draws must vary
    /// and be reproducible.
    func testApplyOnBatch() {
        let (n, c, h, w, p) = (64, 2, 5, 4, 2)
        let per = c * h * w
        let values = (0..<n * per).map { Float($0 % 97 + 1) }
        let batch = Tensor(shape: [n, c, h, w], scalars: values)
        let aug = Augmentation(cropPadding: p, horizontalFlip: true)
        var g1 = PhiloxGenerator(seed: 9, stream: 1)
        var g2 = PhiloxGenerator(seed: 9, stream: 1)
        let out = aug.apply(to: batch, generator: &g1)
        XCTAssertEqual(out.shape, batch.shape)
        XCTAssertEqual(out.scalars, aug.apply(to: batch, generator: &g2).scalars, "reproducible")
        XCTAssertEqual(batch.scalars, values, "input untouched")

        var seen = Set<String>()
        for b in 0..<n {
            let src = Array(values[b * per ..< (b + 1) * per])
            let got = Array(out.scalars[b * per ..< (b + 1) * per])
            var match: String?
            search: for dy in 0...(2 * p) {
                for dx in 0...(2 * p) {
                    let cropped = Augmentation.crop(src, channels: c, height: h, width: w, padding: p, offsetY: dy, offsetX: dx)
                    if cropped == got { match = "\(dy),\(dx),noflip"; break search }
                    if Augmentation.flipHorizontally(cropped, channels: c, height: h, width: w) == got {
                        match = "\(dy),\(dx),flip"; break search
                    }
                }
            }
            XCTAssertNotNil(match, "image \(b) is not a crop/flip of its source")
            if let match { seen.insert(match) }
        }
        XCTAssertGreaterThan(seen.count, 10, "offsets and flips vary across the batch")
        XCTAssertTrue(seen.contains { $0.hasSuffix("noflip") } && seen.contains { $0.hasSuffix(",flip") })
    }

    func testIdentity() {
        XCTAssertTrue(Augmentation().isIdentity)
        XCTAssertFalse(Augmentation(cropPadding: 1).isIdentity)
        let batch = Tensor(shape: [2, 1, 3, 3], scalars: image + image)
        var g = PhiloxGenerator(seed: 1)
        XCTAssertEqual(Augmentation().apply(to: batch, generator: &g).scalars, batch.scalars)
        let flipOnly = Augmentation(horizontalFlip: true).apply(to: batch, generator: &g)
        for b in 0..<2 {
            let img = Array(flipOnly.scalars[b * 9 ..< (b + 1) * 9])
            XCTAssertTrue(img == image || img == [3, 2, 1, 6, 5, 4, 9, 8, 7])
        }
    }
}
