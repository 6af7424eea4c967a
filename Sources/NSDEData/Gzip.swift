import CZlib
import Foundation

/// gzip / zlib compression through the system zlib.
///
/// ``decompress(_:name:)`` detects gzip and zlib framing automatically (zlib `windowBits`
/// 15 + 32), inflates into a growing buffer, and decodes every member of a multi-member gzip
/// file (as produced by `cat a.gz b.gz`), concatenating their contents like `gunzip` does.
/// ``compress(_:level:format:)`` writes a single gzip member or zlib stream (used by tests to
/// build fixtures).
public enum Gzip {
    /// Whether `bytes` starts with the gzip magic number `1F 8B`.
    public static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        return it.next() == 0x1F && it.next() == 0x8B
    }

    /// Decompresses a gzip (one or more concatenated members) or zlib stream.
    ///
    /// - Parameters:
    ///   - data: the compressed bytes.
    ///   - name: the file name to report in errors.
    /// - Returns: the decompressed bytes.
    /// - Throws: ``DataError/corruptGzip(file:reason:)`` when the stream is damaged, ends before
    ///   its end marker, or is followed by bytes that are not another gzip member.
    public static func decompress(_ data: [UInt8], name: String = "<memory>") throws -> [UInt8] {
        try data.withUnsafeBufferPointer { try decompress(UnsafeRawBufferPointer($0), name: name) }
    }

    /// Decompresses a gzip (one or more concatenated members) or zlib stream held in `Data`.
    /// Same behaviour and errors as the `[UInt8]` overload.
    public static func decompress(_ data: Data, name: String = "<memory>") throws -> [UInt8] {
        try data.withUnsafeBytes { try decompress($0, name: name) }
    }

    /// Decompresses a gzip (one or more concatenated members) or zlib stream from raw memory.
    public static func decompress(_ input: UnsafeRawBufferPointer, name: String = "<memory>") throws -> [UInt8] {
        try decompress(input, name: name, limit: nil)
    }

    /// Decompresses at most `limit` bytes of a gzip or zlib stream held in `Data`: a stream that
    /// inflates to more is an error (``DataError/corruptGzip(file:reason:)`` naming the limit and
    /// `expectation`), found after inflating `limit + 1` bytes, so a small file that would expand
    /// to gigabytes (a "gzip bomb") costs at most the limit. With `prefixOnly`, the first `limit`
    /// bytes are returned instead of an error (to read a header first).
    public static func decompress(_ data: Data, name: String = "<memory>", limit: Int, prefixOnly: Bool = false,
                                  expectation: String = "") throws -> [UInt8] {
        try data.withUnsafeBytes { try decompress($0, name: name, limit: limit, prefixOnly: prefixOnly, expectation: expectation) }
    }

    private static func decompress(_ input: UnsafeRawBufferPointer, name: String, limit: Int?, prefixOnly: Bool = false,
                                   expectation: String = "") throws -> [UInt8] {
        guard input.count > 0 else {
            throw DataError.corruptGzip(file: name, reason: "empty input")
        }
        precondition(limit.map { $0 >= 0 } ?? true, "Gzip.decompress: negative limit")
        let inflater = try Inflater(input: input, name: name)

        // Initial size: the gzip trailer's ISIZE (uncompressed size mod 2^32 of the last member)
        // is exact for single-member files; it is trusted only when deflate could plausibly reach
        // it (ratio at most 1032:1), otherwise the buffer starts at 4x the input. In the common
        // case the data are inflated straight into the returned array, with no copy.
        var capacity = max(4 * input.count, 1 << 16)
        if isGzip(input), input.count >= 18 {
            let t = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + (input.count - 4)
            let isize = Int(t[0]) | Int(t[1]) << 8 | Int(t[2]) << 16 | Int(t[3]) << 24
            if isize > 0 && isize <= 1032 * input.count { capacity = isize + 1 } // +1: room to reach the end marker
        }
        // One byte past the limit tells a stream that inflates to more than it.
        let cap = limit.map { $0 + 1 }
        if let cap { capacity = min(capacity, cap) }
        var produced = 0
        var finished = false
        var out = try [UInt8](unsafeUninitializedCapacity: capacity) { buf, initialized in
            (produced, finished) = try inflater.fill(buf.baseAddress!, room: capacity)
            initialized = produced
        }
        // Fallback for multi-member files or a misleading size hint: grow by doubling.
        while !finished {
            if let cap, out.count >= cap { break }
            let old = out.count
            let grow = max(old, 1 << 16)
            out.append(contentsOf: repeatElement(0, count: cap.map { min(grow, $0 - old) } ?? grow))
            try out.withUnsafeMutableBufferPointer { buf in
                let (written, done) = try inflater.fill(buf.baseAddress! + old, room: buf.count - old)
                produced = old + written
                finished = done
            }
            out.removeSubrange(produced...)
        }
        if let limit, out.count > limit {
            if prefixOnly { return Array(out.prefix(limit)) }
            throw DataError.corruptGzip(file: name, reason: "inflates to more than \(limit) bytes"
                                        + (expectation.isEmpty ? "" : ", \(expectation)"))
        }
        return out
    }

    /// A zlib inflate stream over one input buffer that can fill several output buffers in turn
    /// and decodes concatenated gzip members.
    private final class Inflater {
        /// Heap-allocated: zlib keeps a back-pointer to the `z_stream`, so its address must not move.
        let stream: UnsafeMutablePointer<z_stream>
        let input: UnsafePointer<UInt8>
        let total: Int
        let name: String
        var consumed = 0        // input bytes handed to zlib so far
        var decompressed = 0    // output bytes produced so far

        init(input: UnsafeRawBufferPointer, name: String) throws {
            self.input = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
            self.total = input.count
            self.name = name
            stream = .allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let rc = inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else {
                stream.deallocate()
                throw DataError.corruptGzip(file: name, reason: "inflateInit2 failed (zlib code \(rc))")
            }
        }

        deinit {
            inflateEnd(stream)
            stream.deallocate()
        }

        /// Inflates into `dst` until `room` bytes are written or the input is finished.
        /// Returns the number of bytes written and whether the whole input has been decoded.
        func fill(_ dst: UnsafeMutablePointer<UInt8>, room: Int) throws -> (written: Int, finished: Bool) {
            var written = 0
            defer { decompressed += written }
            while true {
                // Feed input in chunks of at most 1 GiB (avail_in is 32-bit).
                if stream.pointee.avail_in == 0 && consumed < total {
                    let chunk = min(total - consumed, 1 << 30)
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: input + consumed)
                    stream.pointee.avail_in = uInt(chunk)
                    consumed += chunk
                }
                if written == room { return (written, false) }
                let chunk = min(room - written, 1 << 30)
                stream.pointee.next_out = dst + written
                stream.pointee.avail_out = uInt(chunk)
                let rc = inflate(stream, Z_NO_FLUSH)
                written += chunk - Int(stream.pointee.avail_out)
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let remaining = Int(stream.pointee.avail_in) + (total - consumed)
                    if remaining == 0 { return (written, true) }
                    // Another gzip member follows: restart the decoder on it.
                    let rest = UnsafeBufferPointer(start: input + (total - remaining), count: remaining)
                    guard isGzip(rest) else {
                        throw DataError.corruptGzip(
                            file: name,
                            reason: "\(remaining) bytes after the end of the compressed stream are not a gzip member "
                                + "(expected magic 1F 8B, found \(hexBytes(rest.prefix(2))))")
                    }
                    let r = inflateReset(stream)
                    guard r == Z_OK else {
                        throw DataError.corruptGzip(file: name, reason: "inflateReset failed (zlib code \(r))")
                    }
                case Z_BUF_ERROR where stream.pointee.avail_out == 0:
                    continue  // output full: returned at the top of the loop
                case Z_BUF_ERROR where stream.pointee.avail_in == 0 && consumed == total:
                    throw DataError.corruptGzip(
                        file: name,
                        reason: "unexpected end of compressed data after \(total) bytes "
                            + "(\(decompressed + written) bytes decompressed); the file is truncated")
                default:
                    throw DataError.corruptGzip(
                        file: name,
                        reason: zlibMessage(stream.pointee, rc)
                            + " at compressed byte offset \(consumed - Int(stream.pointee.avail_in))")
                }
            }
        }
    }

    /// The framing written by ``compress(_:level:format:)``.
    public enum Format: Sendable {
        /// gzip (RFC 1952): 10-byte header, deflate data, CRC-32 and size trailer.
        case gzip
        /// zlib (RFC 1950): 2-byte header, deflate data, Adler-32 trailer.
        case zlib
    }

    /// Compresses `data` into a single gzip member (zlib `windowBits` 31) or a zlib stream
    /// (`windowBits` 15).
    ///
    /// - Parameters:
    ///   - data: the bytes to compress.
    ///   - level: zlib compression level, 0 (store) ... 9 (best); -1 for zlib's default (6).
    ///   - format: `.gzip` (default) or `.zlib` framing.
    /// - Returns: the compressed bytes.
    public static func compress(_ data: [UInt8], level: Int32 = -1, format: Format = .gzip) -> [UInt8] {
        var stream = z_stream()
        let windowBits: Int32 = format == .gzip ? 31 : 15
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "Gzip.compress: deflateInit2 failed (zlib code \(rc))")
        defer { deflateEnd(&stream) }

        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 64)
        var produced = 0
        data.withUnsafeBufferPointer { src in
            var consumed = 0
            while true {
                if stream.avail_in == 0 && consumed < data.count {
                    let chunk = min(data.count - consumed, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress! + consumed)
                    stream.avail_in = uInt(chunk)
                    consumed += chunk
                }
                if produced == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
                let room = min(out.count - produced, 1 << 30)
                let flush = consumed == data.count ? Z_FINISH : Z_NO_FLUSH
                let r = out.withUnsafeMutableBufferPointer { buf -> Int32 in
                    stream.next_out = buf.baseAddress! + produced
                    stream.avail_out = uInt(room)
                    let r = deflate(&stream, flush)
                    produced += room - Int(stream.avail_out)
                    return r
                }
                if r == Z_STREAM_END { break }
                precondition(r == Z_OK || r == Z_BUF_ERROR, "Gzip.compress: deflate failed (zlib code \(r))")
            }
        }
        out.removeSubrange(produced...)
        return out
    }

    /// zlib's message for the stream's last error, or the numeric code.
    private static func zlibMessage(_ stream: z_stream, _ code: Int32) -> String {
        if let msg = stream.msg { return String(cString: msg) + " (zlib code \(code))" }
        switch code {
        case Z_DATA_ERROR: return "invalid compressed data (Z_DATA_ERROR)"
        case Z_MEM_ERROR: return "out of memory (Z_MEM_ERROR)"
        case Z_NEED_DICT: return "stream needs a preset dictionary (Z_NEED_DICT)"
        case Z_STREAM_ERROR: return "inconsistent stream state (Z_STREAM_ERROR)"
        default: return "zlib code \(code)"
        }
    }
}
