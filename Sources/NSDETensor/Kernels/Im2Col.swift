/// The reference 2-D convolution: explicit im2col / col2im and `cblas_sgemm`, one image at a
/// time. NCHW activations, OIHW weights, contiguous buffers.
///
/// For an image, the column matrix `col` has `C·kh·kw` rows and `Ho·Wo` columns:
/// `col[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·s − p + i, ow·s − p + j]` (zero outside the
/// image). Then forward is `y = W · col`, backward-data is `col2im(Wᵀ · dy)` and
/// backward-weights is `Σₙ dy · colᵀ`. Tests check the oneDNN path against this one.
enum Im2Col {
    /// Walks the rows of the column matrix: for each (c, i, j, oh), calls `body` with the offset
    /// of the `Wo` column entries in `col`, the offset of the image row they read in the image
    /// (`nil` when that row is padding) and the image column of the first entry, `ow = 0`
    /// (entry `ow` reads column `first + ow·s`, padding outside `0..<W`).
    @inline(__always)
    private static func forEachColumnRow(_ g: Conv2DGeometry, _ body: (_ column: Int, _ imageRow: Int?, _ first: Int) -> Void) {
        let h = g.height, w = g.width, ho = g.outputHeight, wo = g.outputWidth
        var column = 0
        for c in 0..<g.inChannels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    for oh in 0..<ho {
                        let ih = oh * g.stride - g.padding + i
                        body(column + oh * wo, (0..<h).contains(ih) ? (c * h + ih) * w : nil, j - g.padding)
                    }
                    column += ho * wo
                }
            }
        }
    }

    /// Fills `col` (`C·kh·kw` × `Ho·Wo`) from one image `[C, H, W]`.
    static func im2col(_ g: Conv2DGeometry, image: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
        let w = g.width, wo = g.outputWidth, s = g.stride
        forEachColumnRow(g) { column, imageRow, first in
            let dst = col + column
            guard let imageRow else { return dst.update(repeating: 0, count: wo) }
            var iw = first
            for ow in 0..<wo {
                dst[ow] = (iw >= 0 && iw < w) ? image[imageRow + iw] : 0
                iw += s
            }
        }
    }

    /// Adds the columns of `col` back into one image `[C, H, W]` (which the caller zeroes first).
    static func col2im(_ g: Conv2DGeometry, col: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
        let w = g.width, wo = g.outputWidth, s = g.stride
        forEachColumnRow(g) { column, imageRow, first in
            guard let imageRow else { return }
            var iw = first
            for ow in 0..<wo {
                if iw >= 0 && iw < w { image[imageRow + iw] += col[column + ow] }
                iw += s
            }
        }
    }

    /// `output = conv(input, weight) + bias`.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let k = g.inChannels * g.kernelHeight * g.kernelWidth
        let spatial = g.outputHeight * g.outputWidth
        let colStorage = TensorStorage(uninitializedCount: k * spatial)
        let col = colStorage.pointer
        for n in 0..<g.batch {
            im2col(g, image: input + n * g.inChannels * g.height * g.width, col: col)
            let out = output + n * g.outChannels * spatial
            GEMM.sgemm(transA: false, transB: false, m: g.outChannels, n: spatial, k: k,
                       a: weight, lda: k, b: col, ldb: spatial, c: out, ldc: spatial)
            if let bias {
                for o in 0..<g.outChannels {
                    let b = bias[o]
                    let row = out + o * spatial
                    for i in 0..<spatial { row[i] += b }
                }
            }
        }
        withExtendedLifetime(colStorage) {}
    }

    /// `gradInput = ∂⟨gradOutput, conv(x, weight)⟩ / ∂x`.
    static func backwardData(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             gradInput: UnsafeMutablePointer<Float>) {
        let k = g.inChannels * g.kernelHeight * g.kernelWidth
        let spatial = g.outputHeight * g.outputWidth
        let imageSize = g.inChannels * g.height * g.width
        let colStorage = TensorStorage(uninitializedCount: k * spatial)
        let col = colStorage.pointer
        for n in 0..<g.batch {
            GEMM.sgemm(transA: true, transB: false, m: k, n: spatial, k: g.outChannels,
                       a: weight, lda: k, b: gradOutput + n * g.outChannels * spatial, ldb: spatial,
                       c: col, ldc: spatial)
            let image = gradInput + n * imageSize
            image.update(repeating: 0, count: imageSize)
            col2im(g, col: col, image: image)
        }
        withExtendedLifetime(colStorage) {}
    }

    /// `gradWeight = ∂⟨gradOutput, conv(input, w)⟩ / ∂w`.
    static func backwardWeights(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                gradWeight: UnsafeMutablePointer<Float>) {
        let k = g.inChannels * g.kernelHeight * g.kernelWidth
        let spatial = g.outputHeight * g.outputWidth
        let colStorage = TensorStorage(uninitializedCount: k * spatial)
        let col = colStorage.pointer
        for n in 0..<g.batch {
            im2col(g, image: input + n * g.inChannels * g.height * g.width, col: col)
            GEMM.sgemm(transA: false, transB: true, m: g.outChannels, n: k, k: spatial,
                       a: gradOutput + n * g.outChannels * spatial, lda: spatial, b: col, ldb: spatial,
                       beta: n == 0 ? 0 : 1, c: gradWeight, ldc: k)
        }
        withExtendedLifetime(colStorage) {}
    }

    /// `gradBias[o] = Σ_{n, h, w} gradOutput[n, o, h, w]`.
    static func biasGradient(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, gradBias: UnsafeMutablePointer<Float>) {
        let spatial = g.outputHeight * g.outputWidth
        for o in 0..<g.outChannels {
            var acc = SIMD8<Float>()
            var tail: Float = 0
            for n in 0..<g.batch {
                let row = gradOutput + (n * g.outChannels + o) * spatial
                var i = 0
                while i + 8 <= spatial {
                    acc += UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
                    i += 8
                }
                while i < spatial { tail += row[i]; i += 1 }
            }
            gradBias[o] = acc.sum() + tail
        }
    }
}
