import CJPEG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// In-memory JPEG encoding and decoding through the system libjpeg (module `CJPEG`).
///
/// Encoding uses libjpeg's defaults as Pillow does: baseline, the standard IJG quantisation
/// tables scaled by `quality` (`jpeg_set_quality(…, force_baseline: TRUE)`), 4:2:0 chroma
/// subsampling for RGB, the standard Huffman tables, the integer DCT. Greyscale images are
/// encoded as one-component (JCS_GRAYSCALE) JPEGs, as Pillow does for mode "L". Decoding uses
/// libjpeg's defaults (integer IDCT, fancy upsampling).
public enum JPEGCodec {
    /// The JPEG bytes of `image` at `quality` (1...100).
    ///
    /// - Throws: ``RobustnessError/jpeg(stage:reason:)`` with libjpeg's message.
    public static func encode(_ image: CorruptionImage, quality: Int) throws(RobustnessError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { px in
            message.withUnsafeMutableBufferPointer { m in
                nsde_jpeg_encode(px.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                                 Int32(min(max(quality, 1), 100)), &out, &size, m.baseAddress, m.count)
            }
        }
        guard status == 0, let out else { throw .jpeg(stage: "encode", reason: text(message)) }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Decodes `jpeg`, which must hold a `height` x `width` image, into `channels` (1 or 3)
    /// channels.
    ///
    /// - Throws: ``RobustnessError/jpeg(stage:reason:)`` with libjpeg's message, or a size
    ///   mismatch.
    public static func decode(_ jpeg: [UInt8], height: Int, width: Int, channels: Int) throws(RobustnessError) -> CorruptionImage {
        var pixels = [UInt8](repeating: 0, count: height * width * channels)
        var message = [CChar](repeating: 0, count: 256)
        let status = jpeg.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                message.withUnsafeMutableBufferPointer { m in
                    nsde_jpeg_decode(src.baseAddress, src.count, dst.baseAddress, Int32(width), Int32(height),
                                     Int32(channels), m.baseAddress, m.count)
                }
            }
        }
        guard status == 0 else { throw .jpeg(stage: "decode", reason: text(message)) }
        return CorruptionImage(height: height, width: width, channels: channels, pixels: pixels)
    }

    /// The NUL-terminated C string in `buffer`.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `image` encoded at `quality` and decoded again.
    public static func roundTrip(_ image: CorruptionImage, quality: Int) throws(RobustnessError) -> CorruptionImage {
        try decode(encode(image, quality: quality), height: image.height, width: image.width, channels: image.channels)
    }
}
