import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// JPEG through the system libjpeg: quality lowers fidelity monotonically; Pillow's settings
/// (baseline, 4:2:0) are in the stream; greyscale is a one-component JPEG; errors are caught.
final class CorruptionJPEGTests: XCTestCase {
    let images = CorruptionTestImages.all()

    /// Mean absolute error of the round trip over the test images at falling qualities never
    /// falls, and neither does the compression (bytes never grow).
    func testLowerQualityLosesMoreAndCompressesMore() throws {
        var lastError = -1.0, lastBytes = Int.max
        for quality in [95, 80, 65, 58, 50, 40, 25, 10] {
            var error = 0.0, bytes = 0
            for image in images {
                bytes += try JPEGCodec.encode(image, quality: quality).count
                error += try JPEGCodec.roundTrip(image, quality: quality).meanAbsoluteDifference(to: image)
            }
            XCTAssertGreaterThanOrEqual(error, lastError, "quality \(quality)")
            XCTAssertLessThanOrEqual(bytes, lastBytes, "quality \(quality)")
            lastError = error
            lastBytes = bytes
        }
    }

    /// The corruption is the round trip at the table's quality.
    func testCorruptionUsesTheTableQuality() throws {
        for severity in 1 ... 5 {
            let q = JPEGCompression.parameters[severity - 1]
            XCTAssertEqual(JPEGCompression().apply(images[3], severity: severity, seed: 0), try JPEGCodec.roundTrip(images[3], quality: q))
        }
        XCTAssertEqual(JPEGCompression.parameters, [80, 65, 58, 50, 40])
    }

    /// Start-of-frame marker FFC0 (baseline) with 3 components, Y sampled 2x2 and Cb, Cr 1x1
    /// (4:2:0); a greyscale image gives one component.
    func testStreamIsBaseline420AndGreyIsOneComponent() throws {
        func frame(_ jpeg: [UInt8]) -> [UInt8]? {
            for i in 0 ..< jpeg.count - 1 where jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0 { return Array(jpeg[i ..< min(i + 19, jpeg.count)]) }
            return nil
        }
        let rgb = try XCTUnwrap(frame(JPEGCodec.encode(images[0], quality: 80)))
        XCTAssertEqual(rgb[9], 3)                      // components
        XCTAssertEqual([rgb[11], rgb[14], rgb[17]], [0x22, 0x11, 0x11])
        let greyImage = CorruptionTestImages.grey(images[0])
        let grey = try XCTUnwrap(frame(JPEGCodec.encode(greyImage, quality: 80)))
        XCTAssertEqual(grey[9], 1)
        let back = JPEGCompression().apply(greyImage, severity: 5, seed: 0)
        XCTAssertEqual(back.channels, 1)
        XCTAssertLessThan(back.meanAbsoluteDifference(to: greyImage), 10)
        XCTAssertGreaterThan(back.meanAbsoluteDifference(to: greyImage), 0)
    }

    func testGarbageAndWrongSizeAreErrorsNotCrashes() throws {
        XCTAssertThrowsError(try JPEGCodec.decode([0, 1, 2, 3, 4, 5, 6, 7], height: 4, width: 4, channels: 3)) { error in
            XCTAssertTrue("\(error)".hasPrefix("libjpeg decode failed: Not a JPEG file"), "\(error)")
        }
        let jpeg = try JPEGCodec.encode(images[1], quality: 50)
        XCTAssertThrowsError(try JPEGCodec.decode(jpeg, height: 16, width: 32, channels: 3)) { error in
            XCTAssertEqual("\(error)", "libjpeg decode failed: decoded 32x32x3, expected 32x16x3")
        }
    }
}
