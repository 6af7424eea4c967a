import XCTest
@testable import NSDETensor

/// The Winograd tile transforms as they were written in Swift before they moved to the C kernels
/// (`Sources/CKernels/winograd.c`): the definition the C code must equal bit for bit
/// (``WinogradTransformTests``). Eight tiles at a time, one `SIMD8` lane per tile.
extension WinogradConvolution {
    enum SwiftReference {
        /// Per-thread scratch space of the Swift transforms: zero-padded copies of one image row
        /// (one buffer per kind of row, as each keeps its own zero padding), the deinterleaved
        /// rows of the tile rows in flight (4 phases each) and the 36 vectors of 8 tiles.
        final class Scratch {
            let storage: TensorStorage
            /// `4 · phaseLength` floats each, zero outside the part rows are copied into: for input
            /// rows, output-gradient rows and output rows.
            let inputLine: UnsafeMutablePointer<Float>
            let gradientLine: UnsafeMutablePointer<Float>
            let outputLine: UnsafeMutablePointer<Float>
            /// `(4 · tilesH + 2) · 4 · phaseLength` floats (at least `24 · phaseLength`).
            let rows: UnsafeMutablePointer<Float>
            let tile: UnsafeMutablePointer<F8>

            init(_ t: TileGeometry) {
                let l = t.phaseLength
                let rowFloats = max(6, 4 * t.tilesH + 2) * 4 * l
                storage = TensorStorage(uninitializedCount: 12 * l + rowFloats + 36 * 8)
                inputLine = storage.pointer
                inputLine.update(repeating: 0, count: 12 * l)
                gradientLine = inputLine + 4 * l
                outputLine = inputLine + 8 * l
                rows = inputLine + 12 * l
                // 32-byte aligned: the storage is 64-byte aligned and every offset a multiple of 8.
                tile = UnsafeMutableRawPointer(rows + rowFloats).bindMemory(to: F8.self, capacity: 36)
            }
        }

        /// Deinterleaves one image row into its four phases modulo 4, so that the elements at one
        /// position of consecutive tiles are contiguous: `d[q · L + t] = src[4t + q − pad]` (zero
        /// outside `0..<width`) for `q` in `0..<4` and `t` in `0..<count` rounded up to 4.
        /// `line` (`4 L` floats, zero outside `pad..<pad + width`) holds the padded copy of the row.
        @inline(__always)
        static func deinterleave(_ src: UnsafePointer<Float>, width: Int, pad: Int, line: UnsafeMutablePointer<Float>,
                                 into d: UnsafeMutablePointer<Float>, phaseLength L: Int, count: Int) {
            copyRow(from: src, to: line + pad, count: width)
            var t = 0
            while t < count {
                let v = UnsafeRawPointer(line + 4 &* t).loadUnaligned(as: SIMD16<Float>.self)
                let e = v.evenHalf, o = v.oddHalf
                UnsafeMutableRawPointer(d + t).storeBytes(of: e.evenHalf, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(d + (L &+ t)).storeBytes(of: o.evenHalf, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(d + (2 &* L &+ t)).storeBytes(of: e.oddHalf, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(d + (3 &* L &+ t)).storeBytes(of: o.oddHalf, as: SIMD4<Float>.self)
                t &+= 4
            }
        }
    
        /// The inverse of ``deinterleave(_:width:pad:line:into:phaseLength:count:)`` without padding:
        /// `dst[4t + q] = s[q · L + t]` for `4t + q < width`, through `line` (`4 L` floats).
        @inline(__always)
        static func interleave(_ s: UnsafePointer<Float>, phaseLength L: Int, count: Int, line: UnsafeMutablePointer<Float>,
                               into dst: UnsafeMutablePointer<Float>, width: Int) {
            var t = 0
            while t < count {
                let a = UnsafeRawPointer(s + t).loadUnaligned(as: SIMD4<Float>.self)
                let b = UnsafeRawPointer(s + (L &+ t)).loadUnaligned(as: SIMD4<Float>.self)
                let c = UnsafeRawPointer(s + (2 &* L &+ t)).loadUnaligned(as: SIMD4<Float>.self)
                let d = UnsafeRawPointer(s + (3 &* L &+ t)).loadUnaligned(as: SIMD4<Float>.self)
                let ac = SIMD8(a[0], c[0], a[1], c[1], a[2], c[2], a[3], c[3])
                let bd = SIMD8(b[0], d[0], b[1], d[1], b[2], d[2], b[3], d[3])
                var r = SIMD16<Float>()
                for i in 0..<8 { r[2 * i] = ac[i]; r[2 * i + 1] = bd[i] }
                UnsafeMutableRawPointer(line + 4 &* t).storeBytes(of: r, as: SIMD16<Float>.self)
                t &+= 4
            }
            copyRow(from: line, to: dst, count: width)
        }
    
        /// Copies one image row (a few dozen floats) inline: `update(from:count:)` calls libc's
        /// `memmove` for each row, and at the narrow models' 26-pixel rows the calls cost 8 % of a
        /// training step.
        @inline(__always)
        static func copyRow(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
            var i = 0
            while i &+ 8 <= count {
                UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: F8.self), as: F8.self)
                i &+= 8
            }
            while i < count { dst[i] = src[i]; i &+= 1 }
        }
    
        // MARK: - 1-D transforms (points 0, ±1, ±h, ∞; s = h²)
        //
        // Plain multiplies and adds (no `addingProduct`, which the default x86-64 target lowers to
        // a libm `fmaf` call per lane).
    
        /// `Bᵀ d`: the input transform of 6 values.
        @inline(__always)
        static func inputTransform(_ d0: F8, _ d1: F8, _ d2: F8, _ d3: F8, _ d4: F8, _ d5: F8,
                                   _ h: Float, _ s: Float) -> (F8, F8, F8, F8, F8, F8) {
            let a = d4 - s * d2
            let b = d3 - s * d1
            let c = d4 - d2
            let f = d3 - d1
            let e = h * f
            return (c + s * (d0 - d2), a + b, a - b, c + e, c - e, (d5 - d3) - s * f)
        }
    
        /// `Aᵀ m`: the output transform of 6 values into 4.
        @inline(__always)
        static func outputTransform(_ m0: F8, _ m1: F8, _ m2: F8, _ m3: F8, _ m4: F8, _ m5: F8,
                                    _ h: Float, _ h2: Float, _ h3: Float) -> (F8, F8, F8, F8) {
            let p = m1 + m2, q = m1 - m2, r = m3 + m4, t = m3 - m4
            return (m0 + p + r, q + h * t, p + h2 * r, (q + h3 * t) + m5)
        }
    
        /// `A y`: the transform of 4 output-gradient values into 6.
        @inline(__always)
        static func gradientTransform(_ y0: F8, _ y1: F8, _ y2: F8, _ y3: F8,
                                      _ h: Float, _ h2: Float, _ h3: Float) -> (F8, F8, F8, F8, F8, F8) {
            let a = y0 + y2, b = y1 + y3
            let c = y0 + h2 * y2, d = h * y1 + h3 * y3
            return (y0, a + b, a - b, c + d, c - d, y3)
        }
    
        // MARK: - Transforms of 8 tiles (one vector lane per tile)
    
        /// Column `j` of 8 input tiles: `tmp[6i + j] = Σ_r Bᵀ[i][r] d[r][j]`, with `d[r][j]` at
        /// `col + r · rowStride`.
        @inline(__always)
        static func inputColumn(_ col: UnsafePointer<Float>, _ rowStride: Int, _ j: Int, _ tmp: UnsafeMutablePointer<F8>,
                                _ h: Float, _ s: Float) {
            let r = inputTransform(load(col), load(col + rowStride), load(col + 2 &* rowStride),
                                   load(col + 3 &* rowStride), load(col + 4 &* rowStride), load(col + 5 &* rowStride), h, s)
            tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2; tmp[18 + j] = r.3; tmp[24 + j] = r.4; tmp[30 + j] = r.5
        }
    
        /// Row `i` of 8 transformed tiles: `v[6i + k] = Σ_j tmp[6i + j] B[j][k]`, stored at
        /// `out + k · eStride`.
        @inline(__always)
        static func inputRow(_ tmp: UnsafeMutablePointer<F8>, _ i: Int, _ out: UnsafeMutablePointer<Float>, _ eStride: Int,
                             _ h: Float, _ s: Float) {
            let r = inputTransform(tmp[6 * i], tmp[6 * i + 1], tmp[6 * i + 2], tmp[6 * i + 3], tmp[6 * i + 4],
                                   tmp[6 * i + 5], h, s)
            store(r.0, out); store(r.1, out + eStride); store(r.2, out + 2 &* eStride)
            store(r.3, out + 3 &* eStride); store(r.4, out + 4 &* eStride); store(r.5, out + 5 &* eStride)
        }
    
        /// Column `b` of 8 output-gradient tiles: `tmp[6i + b] = Σ_a A[i][a] y[a][b]`.
        @inline(__always)
        static func gradientColumn(_ col: UnsafePointer<Float>, _ rowStride: Int, _ b: Int, _ tmp: UnsafeMutablePointer<F8>,
                                   _ h: Float, _ h2: Float, _ h3: Float) {
            let r = gradientTransform(load(col), load(col + rowStride), load(col + 2 &* rowStride),
                                      load(col + 3 &* rowStride), h, h2, h3)
            tmp[b] = r.0; tmp[6 + b] = r.1; tmp[12 + b] = r.2; tmp[18 + b] = r.3; tmp[24 + b] = r.4; tmp[30 + b] = r.5
        }
    
        /// Row `i` of 8 transformed gradient tiles: `z[6i + k] = Σ_b tmp[6i + b] A[k][b]`.
        @inline(__always)
        static func gradientRow(_ tmp: UnsafeMutablePointer<F8>, _ i: Int, _ out: UnsafeMutablePointer<Float>,
                                _ eStride: Int, _ h: Float, _ h2: Float, _ h3: Float) {
            let r = gradientTransform(tmp[6 * i], tmp[6 * i + 1], tmp[6 * i + 2], tmp[6 * i + 3], h, h2, h3)
            store(r.0, out); store(r.1, out + eStride); store(r.2, out + 2 &* eStride)
            store(r.3, out + 3 &* eStride); store(r.4, out + 4 &* eStride); store(r.5, out + 5 &* eStride)
        }
    
        /// Column `j` of 8 product tiles: `tmp[6a + j] = Σ_i Aᵀ[a][i] m[6i + j]`, with `m[e]` at
        /// `col + e · eStride`.
        @inline(__always)
        static func outputColumn(_ col: UnsafePointer<Float>, _ eStride: Int, _ j: Int, _ tmp: UnsafeMutablePointer<F8>,
                                 _ h: Float, _ h2: Float, _ h3: Float) {
            let r = outputTransform(load(col + j &* eStride), load(col + (6 &+ j) &* eStride),
                                    load(col + (12 &+ j) &* eStride), load(col + (18 &+ j) &* eStride),
                                    load(col + (24 &+ j) &* eStride), load(col + (30 &+ j) &* eStride), h, h2, h3)
            tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2; tmp[18 + j] = r.3
        }
    
        /// Row `a` of 8 output tiles plus the bias: `y[a][b] = Σ_j tmp[6a + j] A[j][b] + bias`,
        /// stored at `out + b · L`.
        @inline(__always)
        static func outputRow(_ tmp: UnsafeMutablePointer<F8>, _ a: Int, _ bias: F8, _ out: UnsafeMutablePointer<Float>,
                              _ L: Int, _ h: Float, _ h2: Float, _ h3: Float) {
            let r = outputTransform(tmp[6 * a], tmp[6 * a + 1], tmp[6 * a + 2], tmp[6 * a + 3], tmp[6 * a + 4],
                                    tmp[6 * a + 5], h, h2, h3)
            store(r.0 + bias, out); store(r.1 + bias, out + L); store(r.2 + bias, out + 2 &* L)
            store(r.3 + bias, out + 3 &* L)
        }
    
        // MARK: - Tile transforms
    
        /// Transforms the 6x6 input tiles of the global tile rows `rows` of `x`
        /// (`[N, channels, height, width]`) into `v[e · eStride + c · ld + p]` (`p` counted from the
        /// block's first tile): `v[e] = (Bᵀ d B)[e]` at position `e = 6i + k`. Writes up to 7 columns
        /// past the block's last tile (garbage there), which `ld` must leave room for.
        static func transformInput(_ t: TileGeometry, _ x: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                                   into v: UnsafeMutablePointer<Float>, ld: Int, eStride: Int, scratch: Scratch) {
            let h = point, s = point * point
            let L = t.phaseLength, L4 = 4 * L, tilesW = t.tilesW, e6 = 6 * eStride
            let plane = t.height * t.width, pad = t.padding
            let count = (tilesW + 7) / 8 * 8 + 4   // tiles rounded up to 8, plus 1, rounded up to 4
            let d = scratch.rows, tmp = scratch.tile, line = scratch.inputLine
            for c in 0..<channels {
                var row = rows.lowerBound
                while row < rows.upperBound {
                    // The tile rows th0..<th1 of image n; their input rows overlap by 2, so they are
                    // deinterleaved once: local row r is image row 4·th0 − pad + r.
                    let n = row / t.tilesH, th0 = row - n * t.tilesH
                    let th1 = min(t.tilesH, th0 + rows.upperBound - row)
                    let src = x + (n * channels + c) * plane
                    for r in 0..<(4 * (th1 - th0) + 2) {
                        let ih = 4 * th0 - pad + r
                        if ih >= 0 && ih < t.height {
                            deinterleave(src + ih * t.width, width: t.width, pad: pad, line: line, into: d + r * L4,
                                         phaseLength: L, count: count)
                        } else {
                            (d + r * L4).update(repeating: 0, count: L4)
                        }
                    }
                    for th in th0..<th1 {
                        let base = d + 4 * (th - th0) * L4
                        let out = v + c * ld + (row + th - th0 - rows.lowerBound) * tilesW
                        var tw = 0
                        while tw < tilesW {
                            // Tile column j is phase j mod 4, shifted by j / 4 tiles.
                            let col = base + tw
                            inputColumn(col, L4, 0, tmp, h, s)
                            inputColumn(col + L, L4, 1, tmp, h, s)
                            inputColumn(col + 2 &* L, L4, 2, tmp, h, s)
                            inputColumn(col + 3 &* L, L4, 3, tmp, h, s)
                            inputColumn(col + 1, L4, 4, tmp, h, s)
                            inputColumn(col + (L &+ 1), L4, 5, tmp, h, s)
                            let o = out + tw
                            inputRow(tmp, 0, o, eStride, h, s)
                            inputRow(tmp, 1, o + e6, eStride, h, s)
                            inputRow(tmp, 2, o + 2 &* e6, eStride, h, s)
                            inputRow(tmp, 3, o + 3 &* e6, eStride, h, s)
                            inputRow(tmp, 4, o + 4 &* e6, eStride, h, s)
                            inputRow(tmp, 5, o + 5 &* e6, eStride, h, s)
                            tw &+= 8
                        }
                    }
                    row += th1 - th0
                }
            }
        }
    
        /// Transforms the 4x4 output-gradient tiles of the global tile rows `rows` of `dy`
        /// (`[N, channels, outHeight, outWidth]`, zero past the image) into
        /// `z[e · eStride + o · ld + p]`: `z[e] = (A dY Aᵀ)[e]`. Writes up to 7 columns past the
        /// block's last tile.
        static func transformGradient(_ t: TileGeometry, _ dy: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                                      into z: UnsafeMutablePointer<Float>, ld: Int, eStride: Int, scratch: Scratch) {
            let h = point, h2 = point * point, h3 = point * point * point
            let L = t.phaseLength, L4 = 4 * L, tilesW = t.tilesW, e6 = 6 * eStride
            let plane = t.outHeight * t.outWidth
            let count = (tilesW + 7) / 8 * 8
            let d = scratch.rows, tmp = scratch.tile, line = scratch.gradientLine
            for o in 0..<channels {
                for row in rows {
                    let n = row / t.tilesH, th = row - n * t.tilesH
                    let src = dy + (n * channels + o) * plane
                    for a in 0..<4 {
                        let oh = 4 * th + a
                        if oh < t.outHeight {
                            deinterleave(src + oh * t.outWidth, width: t.outWidth, pad: 0, line: line, into: d + a * L4,
                                         phaseLength: L, count: count)
                        } else {
                            (d + a * L4).update(repeating: 0, count: L4)
                        }
                    }
                    let out = z + o * ld + (row - rows.lowerBound) * tilesW
                    var tw = 0
                    while tw < tilesW {
                        let col = d + tw
                        gradientColumn(col, L4, 0, tmp, h, h2, h3)
                        gradientColumn(col + L, L4, 1, tmp, h, h2, h3)
                        gradientColumn(col + 2 &* L, L4, 2, tmp, h, h2, h3)
                        gradientColumn(col + 3 &* L, L4, 3, tmp, h, h2, h3)
                        let p = out + tw
                        gradientRow(tmp, 0, p, eStride, h, h2, h3)
                        gradientRow(tmp, 1, p + e6, eStride, h, h2, h3)
                        gradientRow(tmp, 2, p + 2 &* e6, eStride, h, h2, h3)
                        gradientRow(tmp, 3, p + 3 &* e6, eStride, h, h2, h3)
                        gradientRow(tmp, 4, p + 4 &* e6, eStride, h, h2, h3)
                        gradientRow(tmp, 5, p + 5 &* e6, eStride, h, h2, h3)
                        tw &+= 8
                    }
                }
            }
        }
    
        /// Transforms `m[e · eStride + o · ld + p]` back into the 4x4 output tiles of the global
        /// tile rows `rows` (`y = Aᵀ m A + bias[o]`), writing the part inside the image into `y`
        /// (`[N, channels, outHeight, outWidth]`). Reads up to 7 columns past the block's last tile,
        /// which must hold finite values.
        static func transformOutput(_ t: TileGeometry, _ m: UnsafePointer<Float>, ld: Int, eStride: Int, channels: Int,
                                    rows: Range<Int>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                                    scratch: Scratch) {
            let h = point, h2 = point * point, h3 = point * point * point
            let L = t.phaseLength, L4 = 4 * L, tilesW = t.tilesW
            let outH = t.outHeight, outW = t.outWidth, plane = outH * outW
            let ph = scratch.rows, tmp = scratch.tile   // ph[(4a + b) · L + tw] = y[4th + a][4tw + b]
            for o in 0..<channels {
                let b8 = F8(repeating: bias?[o] ?? 0)
                for row in rows {
                    let n = row / t.tilesH, th = row - n * t.tilesH
                    let src = m + o * ld + (row - rows.lowerBound) * tilesW
                    var tw = 0
                    while tw < tilesW {
                        let col = src + tw
                        outputColumn(col, eStride, 0, tmp, h, h2, h3)
                        outputColumn(col, eStride, 1, tmp, h, h2, h3)
                        outputColumn(col, eStride, 2, tmp, h, h2, h3)
                        outputColumn(col, eStride, 3, tmp, h, h2, h3)
                        outputColumn(col, eStride, 4, tmp, h, h2, h3)
                        outputColumn(col, eStride, 5, tmp, h, h2, h3)
                        let p = ph + tw
                        outputRow(tmp, 0, b8, p, L, h, h2, h3)
                        outputRow(tmp, 1, b8, p + L4, L, h, h2, h3)
                        outputRow(tmp, 2, b8, p + 2 &* L4, L, h, h2, h3)
                        outputRow(tmp, 3, b8, p + 3 &* L4, L, h, h2, h3)
                        tw &+= 8
                    }
                    // Interleave the phases into the output rows, cropping at the image border.
                    let dst = y + (n * channels + o) * plane + 4 * th * outW
                    for a in 0..<min(4, outH - 4 * th) {
                        interleave(ph + a * L4, phaseLength: L, count: tilesW, line: scratch.outputLine,
                                   into: dst + a * outW, width: outW)
                    }
                }
            }
        }
    }
}

/// The C tile transforms against the Swift reference, bit for bit, on ragged and exact tilings,
/// every padding, blocks that start mid-image and span image boundaries.
final class WinogradTransformTests: XCTestCase {
    /// (N, channels, H, W, padding) of the input side; the gradient and output sides use the
    /// matching output size.
    private let cases: [(Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1), (2, 3, 4, 4, 1), (3, 2, 5, 7, 1), (2, 5, 13, 11, 2), (1, 4, 12, 13, 0),
        (2, 3, 30, 30, 1), (2, 2, 28, 28, 1), (1, 2, 9, 70, 0), (3, 2, 32, 32, 1),
    ]

    private func bits(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> [UInt32] {
        (0..<count).map { p[$0].bitPattern }
    }

    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Float(Int64(bitPattern: s) >> 40) * 0x1p-23
        }
    }

    func testTransformsEqualSwiftReferenceBitForBit() {
        for (n, c, h, w, pad) in cases {
            let t = WinogradConvolution.TileGeometry(batch: n, height: h, width: w, padding: pad)
            // Blocks: everything, a block starting mid-image, single rows.
            var blocks: [Range<Int>] = [0..<t.tileRows]
            if t.tileRows > 2 { blocks += [1..<t.tileRows - 1, t.tileRows - 1..<t.tileRows] }
            for rows in blocks {
                let tiles = rows.count * t.tilesW
                let ld = tiles + 8, eStride = c * ld, size = 36 * eStride
                let label = "N\(n) C\(c) \(h)x\(w) pad \(pad) rows \(rows)"
                // Input transform.
                let x = random(n * c * h * w, seed: UInt64(h * 31 + w))
                var refV = [Float](repeating: 0, count: size), cV = refV
                x.withUnsafeBufferPointer { xp in
                    WinogradConvolution.SwiftReference.transformInput(
                        t, xp.baseAddress!, channels: c, rows: rows, into: &refV, ld: ld, eStride: eStride,
                        scratch: .init(t))
                    WinogradConvolution.transformInput(t, xp.baseAddress!, channels: c, rows: rows, into: &cV, ld: ld,
                                                       eStride: eStride, scratch: .init(t))
                }
                XCTAssertTrue(refV.contains { $0 != 0 }, "the reference wrote nothing, \(label)")
                XCTAssertEqual(validColumns(refV, ld: ld, tiles: tiles, rows: 36 * c),
                               validColumns(cV, ld: ld, tiles: tiles, rows: 36 * c), "input transform, \(label)")
                // Output-gradient transform.
                let dy = random(n * c * t.outHeight * t.outWidth, seed: UInt64(h * 17 + w + 5))
                var refZ = [Float](repeating: 0, count: size), cZ = refZ
                dy.withUnsafeBufferPointer { dp in
                    WinogradConvolution.SwiftReference.transformGradient(
                        t, dp.baseAddress!, channels: c, rows: rows, into: &refZ, ld: ld, eStride: eStride,
                        scratch: .init(t))
                    WinogradConvolution.transformGradient(t, dp.baseAddress!, channels: c, rows: rows, into: &cZ,
                                                          ld: ld, eStride: eStride, scratch: .init(t))
                }
                XCTAssertEqual(validColumns(refZ, ld: ld, tiles: tiles, rows: 36 * c),
                               validColumns(cZ, ld: ld, tiles: tiles, rows: 36 * c), "gradient transform, \(label)")
                // Output transform, with and without bias (columns past the block finite).
                let m = random(size, seed: UInt64(h * 7 + w + 11))
                let bias = random(c, seed: 99)
                for withBias in [false, true] {
                    var refY = [Float](repeating: -1, count: n * c * t.outHeight * t.outWidth), cY = refY
                    m.withUnsafeBufferPointer { mp in
                        bias.withUnsafeBufferPointer { bp in
                            let b = withBias ? bp.baseAddress : nil
                            WinogradConvolution.SwiftReference.transformOutput(
                                t, mp.baseAddress!, ld: ld, eStride: eStride, channels: c, rows: rows, bias: b,
                                into: &refY, scratch: .init(t))
                            WinogradConvolution.transformOutput(t, mp.baseAddress!, ld: ld, eStride: eStride,
                                                                channels: c, rows: rows, bias: b, into: &cY,
                                                                scratch: .init(t))
                        }
                    }
                    XCTAssertEqual(refY.map(\.bitPattern), cY.map(\.bitPattern),
                                   "output transform (bias \(withBias)), \(label)")
                }
            }
        }
    }

    /// The first `tiles` columns of each of `rows` rows of length `ld`, as bit patterns.
    private func validColumns(_ a: [Float], ld: Int, tiles: Int, rows: Int) -> [UInt32] {
        (0..<rows).flatMap { r in a[(r * ld)..<(r * ld + tiles)].map(\.bitPattern) }
    }
}
