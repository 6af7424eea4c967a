import CDNNL
import CKernels
import Foundation

// MARK: - oneDNN implementation

/// The oneDNN convolution path.
///
/// Layout: public tensors are NCHW/OIHW. Inside, each pass uses the layout measured fastest
/// end to end for its geometry (``resolvedLayout(_:_:)``): usually oneDNN's own choice
/// (`dnnl_format_tag_any`: `nChw8c` activations and `OIhw8i8o` weights with `jit:avx2` kernels,
/// `nChw16c` with AVX-512) with conversions in and out on every call, NHWC for channel counts that
/// are not multiples of 8, plain NCHW for inputs with fewer than 8 channels (with AVX-512 kernels
/// only for their input gradient). Activations go between NCHW and `nChw16c` through the library's
/// transposing kernels (``BlockedLayout``, which can also add a map broadcast over the batch to the
/// output and sum the output gradient over the batch on the way), other conversions through
/// oneDNN's reorders. Callers that keep activations in `nChw16c` themselves (the fused
/// GroupNorm → ReLU → convolution op, chained in the paper's drift) hand the input over and take
/// the output, and its gradient, in that layout with no conversion at all (`blockedInput`,
/// `blockedOutput`). Weights are reordered on every call (they change every optimizer step, and
/// they are small).
///
/// Plans (primitive, reorders, scratchpad size) are cached by geometry, bias, pass and thread
/// count under a lock. Execution uses user-mode scratchpads and per-call memory objects, so
/// concurrent calls from several threads are safe.
enum OneDNNConvolution {
    /// How activations are laid out inside oneDNN.
    enum Layout: Sendable {
        /// Per pass and geometry, from measurements on the target machine (see ``resolvedLayout(_:_:)``).
        case automatic
        /// `dnnl_format_tag_any`: oneDNN's choice (blocked `nChw8c` with AVX2).
        case blocked
        /// NHWC activations, weights in oneDNN's choice.
        case nhwc
        /// NCHW activations used as they are (no activation reorders; oneDNN's GEMM-based kernels).
        case plain
    }

    /// The layout policy for new plans. Internal: benchmarks force one layout to compare.
    nonisolated(unsafe) static var layout: Layout = .automatic

    /// The layout a pass uses for a geometry.
    ///
    /// Measured end to end (NCHW in, NCHW out, reorders included) on the 2-core AVX2 target:
    /// - fewer than 8 input channels (a network's first layer): oneDNN's JIT kernels keep the
    ///   input plain but want a blocked output, and reordering that large output costs more than
    ///   the convolution, so its GEMM kernels on NCHW win (batch 128, 1→64 at 28x28, 1 thread:
    ///   forward 16 vs 12, backward-data 21 vs 3.5, backward-weights 5.6 vs 3.0 GFLOP/s). The
    ///   exception is the weight gradient with 3 input channels (RGB), where the JIT kernel wins
    ///   (3→64 at 32x32: 17.5 vs 12.5 GFLOP/s);
    /// - more than 8 input channels but not a multiple of 8 (the 64 + 1 time-channel convolution):
    ///   the blocked layout pads the channels to the next multiple of 8, NHWC does not; NHWC wins
    ///   the forward (65→64 at 30x30: 35.4–36.0 vs 33.5 GFLOP/s) and, slightly, the weight
    ///   gradient (27–28.5 vs 26.6–27), the blocked layout wins the input gradient (34.4 vs 31);
    /// - otherwise the blocked layout (nChw8c) wins every pass (64→64 3x3: 35–37 GFLOP/s against
    ///   34–36 for NHWC and 15–30 for NCHW).
    ///
    /// Where oneDNN runs AVX-512 kernels (``OneDNN/hasAVX512Kernels``) its JIT kernels for fewer
    /// than 8 input channels (the "first convolution" case: plain input, blocked output) beat the
    /// GEMM kernels for the forward pass and the weight gradient, reorder of the output included,
    /// while the input gradient stays faster on NCHW. Measured with `nsde bench conv`, 1 thread,
    /// on a 2-core Sapphire Rapids Xeon (`jit:avx512_core`), blocked against plain, GFLOP/s
    /// (forward / backward-data / backward-weights): 1→16 at 28x28, batch 16 (the width-16
    /// model's first layer): 31–32.5 / 8.3 / 34–35 against 20.1–20.3 / 21–22 / 11.1–11.2;
    /// 3→64 at 32x32, batch 64: 75–77 / 23.6 / 70 against 46–70 / 37–54 / 24–37; 1→16 at 26x26
    /// with padding 1, batch 1 (a time-channel map): 5.5–5.6 / 3.6 / 5.4 against 4.8–4.9 / 4.9–5.0
    /// / 3.9–4.0.
    static func resolvedLayout(_ pass: Pass, _ g: Conv2DGeometry) -> Layout {
        if layout != .automatic { return layout }
        let c = g.inChannels
        if c < 8 {
            if OneDNN.hasAVX512Kernels { return pass == .backwardData ? .plain : .blocked }
            return pass == .backwardWeights && c == 3 ? .blocked : .plain
        }
        if c % 8 != 0 { return pass == .backwardData ? .blocked : .nhwc }
        return .blocked
    }

    // oneDNN execution argument indices (dnnl_types.h).
    static let argSrc: Int32 = 1
    static let argDst: Int32 = 17
    static let argWeights: Int32 = 33
    static let argBias: Int32 = 41
    static let argScratchpad: Int32 = 80
    static let argDiffSrc: Int32 = 129
    static let argDiffDst: Int32 = 145
    static let argDiffWeights: Int32 = 161
    static let argDiffBias: Int32 = 169
    static let argFrom: Int32 = 1
    static let argTo: Int32 = 17

    enum Pass: Hashable { case forward, backwardData, backwardWeights }

    /// oneDNN's convolution algorithm.
    enum Algorithm: Hashable, Sendable {
        /// Direct convolution (`dnnl_convolution_direct`).
        case direct
        /// Winograd F(4x4, 3x3) (`dnnl_convolution_winograd`: `jit_wino_4x3`, AVX-512 processors,
        /// 3x3 stride-1 kernels; blocked layouts).
        case winograd

        var kind: dnnl_alg_kind_t { self == .direct ? dnnl_convolution_direct : dnnl_convolution_winograd }
    }

    struct PlanKey: Hashable {
        let geometry: Conv2DGeometry
        let pass: Pass
        let bias: Bool
        let threads: Int
        let layout: Layout
        let algorithm: Algorithm
    }

    /// A oneDNN primitive and the scratchpad it needs per execution.
    final class Primitive: @unchecked Sendable {
        let handle: dnnl_primitive_t
        let scratchpad: dnnl_memory_desc_t
        let scratchpadBytes: Int

        init(_ pd: dnnl_primitive_desc_t) {
            var p: dnnl_primitive_t?
            OneDNN.check(dnnl_primitive_create(&p, pd), "dnnl_primitive_create")
            handle = p!
            var md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
            scratchpad = md
            scratchpadBytes = md.ndims == 0 ? 0 : dnnl_memory_desc_get_size(&md)
        }

        deinit { dnnl_primitive_destroy(handle) }
    }

    /// How one argument goes between the caller's buffer (NCHW/OIHW/x) and the layout the
    /// primitive wants.
    struct Argument {
        let index: Int32
        let user: dnnl_memory_desc_t
        let inner: dnnl_memory_desc_t
        let innerBytes: Int
        /// user → inner for inputs, inner → user for outputs; `nil` when the layouts agree.
        let reorder: Primitive?
        /// Set when the conversion is NCHW ↔ nChw16c of activations: the library's transposing
        /// kernels (``BlockedLayout``) then replace `reorder` (same bits, about the same time in a
        /// model; they can carry a broadcast addition or the batch sums along).
        let blocked16: BlockedLayout.Shape?
    }

    /// A convolution pass ready to run.
    final class Plan: @unchecked Sendable {
        let primitive: Primitive
        let arguments: [Int32: Argument]
        let implementation: String

        init(pd: dnnl_primitive_desc_t, user: [Int32: dnnl_memory_desc_t], outputs: Set<Int32>) {
            primitive = Primitive(pd)
            var info: UnsafePointer<CChar>?
            implementation = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success
                ? info.map { String(cString: $0) } ?? "?" : "?"
            var args: [Int32: Argument] = [:]
            for (index, userMD) in user {
                var inner = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, index)!.pointee
                let reorder: Primitive? = OneDNNConvolution.equal(userMD, inner) ? nil
                    : (outputs.contains(index) ? OneDNNConvolution.reorder(from: inner, to: userMD)
                                               : OneDNNConvolution.reorder(from: userMD, to: inner))
                args[index] = Argument(index: index, user: userMD, inner: inner,
                                       innerBytes: dnnl_memory_desc_get_size(&inner), reorder: reorder,
                                       blocked16: reorder == nil ? nil : OneDNNConvolution.blocked16Shape(user: userMD, inner: inner))
            }
            arguments = args
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var plans: [PlanKey: Plan] = [:]

    /// Number of cached plans (for tests).
    static var cachedPlanCount: Int { lock.lock(); defer { lock.unlock() }; return plans.count }

    /// Drops every cached plan.
    static func clearCache() { lock.lock(); plans = [:]; lock.unlock() }

    // MARK: Thread count

    private typealias GetThreads = @convention(c) () -> Int32
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private static let ompGetMaxThreads: GetThreads? =
        dlsym(nil, "omp_get_max_threads").map { unsafeBitCast($0, to: GetThreads.self) }
    private static let ompSetNumThreads: SetThreads? =
        dlsym(nil, "omp_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }

    /// Makes OpenMP on the calling thread use ``Parallel/threadCount`` threads (OpenMP's thread
    /// count is per calling thread) and returns it. oneDNN sizes its work split when a primitive
    /// is created, so the count is part of the plan key.
    static func syncThreads() -> Int {
        let n = Parallel.threadCount
        _ = OneDNN.engine // initialise oneDNN (and its OpenMP runtime) first
        if let get = ompGetMaxThreads, let set = ompSetNumThreads, Int(get()) != n { set(Int32(n)) }
        return n
    }

    // MARK: Plan construction

    static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        OneDNN.check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dnnl_f32, tag), "dnnl_memory_desc_init_by_tag")
        return md
    }

    /// `[N, C, H·W]` when `user` is 4-D NCHW and `inner` the nChw16c layout of the same shape with
    /// C a multiple of 16, else nil.
    static func blocked16Shape(user: dnnl_memory_desc_t, inner: dnnl_memory_desc_t) -> BlockedLayout.Shape? {
        guard user.ndims == 4 else { return nil }
        let dims = withUnsafeBytes(of: user.dims) { Array($0.bindMemory(to: Int64.self).prefix(4)).map(Int.init) }
        guard dims[1] % 16 == 0, equal(user, memoryDesc(dims, dnnl_nchw)), equal(inner, memoryDesc(dims, dnnl_nChw16c)) else {
            return nil
        }
        return BlockedLayout.Shape(batch: dims[0], channels: dims[1], pixels: dims[2] * dims[3])
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var x = a, y = b
        return dnnl_memory_desc_equal(&x, &y) != 0
    }

    static func userScratchpadAttr() -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        return attr!
    }

    static func reorder(from src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) -> Primitive {
        var s = src, d = dst
        let attr = userScratchpadAttr()
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        OneDNN.check(dnnl_reorder_primitive_desc_create(&pd, &s, OneDNN.engine, &d, OneDNN.engine, attr),
                     "dnnl_reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        return Primitive(pd!)
    }

    /// The cached plan for a pass, created on first use.
    static func plan(_ g: Conv2DGeometry, _ pass: Pass, bias: Bool, threads: Int, algorithm: Algorithm = .direct) -> Plan {
        let key = PlanKey(geometry: g, pass: pass, bias: bias, threads: threads,
                          layout: algorithm == .winograd ? .blocked : resolvedLayout(pass, g), algorithm: algorithm)
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[key] { return p }
        guard let p = makePlan(key) else {
            preconditionFailure("oneDNN has no Winograd \(pass) kernel for \(g): check supportsWinograd first")
        }
        plans[key] = p
        return p
    }

    nonisolated(unsafe) private static var winogradSupport: [Conv2DGeometry: Bool] = [:]

    /// Whether oneDNN has Winograd kernels for all three passes of `g` (with and without bias) on
    /// this processor: a 3x3 stride-1 kernel on an AVX-512 processor, with channel counts its
    /// kernels accept. Probed once per geometry (and thread count) by creating the primitives.
    static func supportsWinograd(_ g: Conv2DGeometry) -> Bool {
        guard g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 else { return false }
        let threads = syncThreads()
        lock.lock()
        defer { lock.unlock() }
        if let known = winogradSupport[g] { return known }
        var supported = true
        for pass in [Pass.forward, .backwardData, .backwardWeights] {
            for bias in [false, true] where supported {
                let key = PlanKey(geometry: g, pass: pass, bias: bias, threads: threads, layout: .blocked, algorithm: .winograd)
                if let plan = plans[key] ?? makePlan(key) { plans[key] = plan } else { supported = false }
            }
        }
        winogradSupport[g] = supported
        return supported
    }

    /// The plan for `key`; nil when oneDNN has no implementation of a Winograd pass for it (a
    /// direct plan that cannot be created is a fatal error, as before).
    private static func makePlan(_ key: PlanKey) -> Plan? {
        let g = key.geometry
        // A Winograd plan is optional: any refusal of a descriptor (the processor or shape has no
        // such kernel) means "not supported", and the caller falls back; a direct one is required.
        func described(_ status: dnnl_status_t, _ what: @autoclosure () -> String) -> Bool {
            if status == dnnl_success { return true }
            if key.algorithm == .winograd { return false }
            OneDNN.check(status, what())
            return false
        }
        let actTag: dnnl_format_tag_t
        switch key.layout {
        case .blocked, .automatic: actTag = dnnl_format_tag_any
        case .nhwc: actTag = dnnl_nhwc
        case .plain: actTag = dnnl_nchw
        }
        var src = memoryDesc(g.inputShape, actTag)
        var wei = memoryDesc(g.weightShape, dnnl_format_tag_any)
        var bia = memoryDesc([g.outChannels], dnnl_x)
        var dst = memoryDesc(g.outputShape, actTag)
        let strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
        let pad: [Int64] = [Int64(g.padding), Int64(g.padding)]
        let userSrc = memoryDesc(g.inputShape, dnnl_nchw)
        let userWei = memoryDesc(g.weightShape, dnnl_oihw)
        let userBia = memoryDesc([g.outChannels], dnnl_x)
        let userDst = memoryDesc(g.outputShape, dnnl_nchw)
        let attr = userScratchpadAttr()
        defer { dnnl_primitive_attr_destroy(attr) }

        // The forward descriptor: the plan itself for the forward pass, the hint for backward ones.
        var fd = dnnl_convolution_desc_t()
        let withBias = key.bias && key.pass != .backwardData
        if withBias {
            guard described(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, key.algorithm.kind,
                                                               &src, &wei, &bia, &dst, strides, pad, pad),
                            "dnnl_convolution_forward_desc_init (\(g))") else { return nil }
        } else {
            guard described(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, key.algorithm.kind,
                                                               &src, &wei, nil, &dst, strides, pad, pad),
                            "dnnl_convolution_forward_desc_init (\(g))") else { return nil }
        }
        var fpd: dnnl_primitive_desc_t?
        guard described(dnnl_primitive_desc_create(&fpd, &fd, attr, OneDNN.engine, nil),
                        "convolution forward primitive_desc (\(g))") else { return nil }
        defer { dnnl_primitive_desc_destroy(fpd) }

        switch key.pass {
        case .forward:
            var user: [Int32: dnnl_memory_desc_t] = [argSrc: userSrc, argWeights: userWei, argDst: userDst]
            if withBias { user[argBias] = userBia }
            return Plan(pd: fpd!, user: user, outputs: [argDst])
        case .backwardData:
            var bd = dnnl_convolution_desc_t()
            guard described(dnnl_convolution_backward_data_desc_init(&bd, key.algorithm.kind, &src, &wei, &dst,
                                                                     strides, pad, pad),
                            "dnnl_convolution_backward_data_desc_init (\(g))") else { return nil }
            var pd: dnnl_primitive_desc_t?
            guard described(dnnl_primitive_desc_create(&pd, &bd, attr, OneDNN.engine, fpd),
                            "convolution backward-data primitive_desc (\(g))") else { return nil }
            defer { dnnl_primitive_desc_destroy(pd) }
            return Plan(pd: pd!, user: [argDiffDst: userDst, argWeights: userWei, argDiffSrc: userSrc],
                        outputs: [argDiffSrc])
        case .backwardWeights:
            var wd = dnnl_convolution_desc_t()
            if withBias {
                guard described(dnnl_convolution_backward_weights_desc_init(&wd, key.algorithm.kind, &src, &wei, &bia,
                                                                            &dst, strides, pad, pad),
                                "dnnl_convolution_backward_weights_desc_init (\(g))") else { return nil }
            } else {
                guard described(dnnl_convolution_backward_weights_desc_init(&wd, key.algorithm.kind, &src, &wei, nil,
                                                                            &dst, strides, pad, pad),
                                "dnnl_convolution_backward_weights_desc_init (\(g))") else { return nil }
            }
            var pd: dnnl_primitive_desc_t?
            guard described(dnnl_primitive_desc_create(&pd, &wd, attr, OneDNN.engine, fpd),
                            "convolution backward-weights primitive_desc (\(g))") else { return nil }
            defer { dnnl_primitive_desc_destroy(pd) }
            var user: [Int32: dnnl_memory_desc_t] = [argSrc: userSrc, argDiffDst: userDst, argDiffWeights: userWei]
            if withBias { user[argDiffBias] = userBia }
            return Plan(pd: pd!, user: user, outputs: [argDiffWeights, argDiffBias])
        }
    }

    // MARK: Execution

    /// The memory objects and temporary buffers of one call; everything is released by ``finish()``.
    final class Execution {
        private var memories: [dnnl_memory_t] = []
        private var buffers: [TensorStorage] = []

        /// A memory object over `pointer` (not owned).
        func wrap(_ md: dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) -> dnnl_memory_t {
            var d = md
            var m: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&m, &d, OneDNN.engine, UnsafeMutableRawPointer(mutating: pointer)),
                         "dnnl_memory_create")
            memories.append(m!)
            return m!
        }

        /// A memory object over a temporary buffer of `bytes` bytes from the tensor buffer pool.
        func temporary(_ md: dnnl_memory_desc_t, bytes: Int) -> dnnl_memory_t {
            temporaryBuffer(md, bytes: bytes).memory
        }

        /// A temporary buffer of `bytes` bytes and a memory object over it.
        func temporaryBuffer(_ md: dnnl_memory_desc_t, bytes: Int) -> (memory: dnnl_memory_t, pointer: UnsafeMutablePointer<Float>) {
            let storage = TensorStorage(uninitializedCount: (bytes + 3) / 4)
            buffers.append(storage)
            return (wrap(md, storage.pointer), storage.pointer)
        }

        /// Runs `primitive` with `args`, adding its scratchpad.
        func run(_ primitive: Primitive, _ args: [(Int32, dnnl_memory_t)]) {
            var a = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            if primitive.scratchpadBytes > 0 {
                a.append(dnnl_exec_arg_t(arg: argScratchpad,
                                         memory: temporary(primitive.scratchpad, bytes: primitive.scratchpadBytes)))
            }
            OneDNN.check(dnnl_primitive_execute(primitive.handle, OneDNN.stream, Int32(a.count), a), "dnnl_primitive_execute")
        }

        /// The argument in the primitive's layout, reordered from the caller's buffer if needed.
        /// With `sums` (activations converted to nChw16c only), also writes the sums over the
        /// batch of the caller's buffer there (`[C, H, W]`).
        func input(_ arg: Argument, _ pointer: UnsafeRawPointer, sums: UnsafeMutablePointer<Float>? = nil) -> dnnl_memory_t {
            if let shape = arg.blocked16 {
                let (inner, to) = temporaryBuffer(arg.inner, bytes: arg.innerBytes)
                let from = pointer.assumingMemoryBound(to: Float.self)
                if let sums { BlockedLayout.block(from, to, shape, sums: sums) } else { BlockedLayout.block(from, to, shape) }
                return inner
            }
            precondition(sums == nil, "OneDNNConvolution: batch sums need an nChw16c conversion")
            let user = wrap(arg.user, pointer)
            guard let r = arg.reorder else { return user }
            let inner = temporary(arg.inner, bytes: arg.innerBytes)
            run(r, [(argFrom, user), (argTo, inner)])
            return inner
        }

        /// The memory the primitive writes an output to, and what to do afterwards to bring it
        /// into the caller's buffer.
        /// With `addend` (activations converted from nChw16c only), adds that `[C, H, W]` map to
        /// every sample on the way.
        func output(_ arg: Argument, _ pointer: UnsafeMutableRawPointer,
                    addend: UnsafePointer<Float>? = nil) -> (dnnl_memory_t, () -> Void) {
            if let shape = arg.blocked16 {
                let (inner, from) = temporaryBuffer(arg.inner, bytes: arg.innerBytes)
                let to = pointer.assumingMemoryBound(to: Float.self)
                return (inner, {
                    // The primitive has finished writing `inner` (CPU streams run in order; the wait
                    // makes it explicit).
                    OneDNN.check(dnnl_stream_wait(OneDNN.stream), "dnnl_stream_wait")
                    BlockedLayout.unblock(from, to, shape, adding: addend)
                })
            }
            precondition(addend == nil, "OneDNNConvolution: an addend needs an nChw16c conversion")
            let user = wrap(arg.user, pointer)
            guard let r = arg.reorder else { return (user, {}) }
            let inner = temporary(arg.inner, bytes: arg.innerBytes)
            return (inner, { self.run(r, [(argFrom, inner), (argTo, user)]) })
        }

        /// Waits for the stream and releases the memory objects and buffers.
        func finish() {
            OneDNN.check(dnnl_stream_wait(OneDNN.stream), "dnnl_stream_wait")
            for m in memories { dnnl_memory_destroy(m) }
            memories = []
            buffers = []
        }
    }

    /// Which side of a convolution a caller hands over (or takes) in nChw16c.
    private enum BlockedSide: Hashable { case input, output, outputWithoutBackwardData }
    private struct BlockedKey: Hashable { let plan: PlanKey, side: BlockedSide }
    nonisolated(unsafe) private static var blockedSupport: [BlockedKey: Bool] = [:]

    /// Whether the passes of `g` with `algorithm` keep activations in nChw16c inside oneDNN (the
    /// forward's source, the input gradient and the weight gradient's source), so that a caller
    /// can hand them over in that layout (``forward(_:input:weight:bias:output:algorithm:blockedInput:blockedOutput:addend:)``).
    static func acceptsBlockedInput(_ g: Conv2DGeometry, algorithm: Algorithm) -> Bool {
        acceptsBlocked(.input, g, algorithm: algorithm)
    }

    /// Whether the passes of `g` with `algorithm` keep the output and its gradient in nChw16c
    /// inside oneDNN (the forward's destination, the output gradient of both backward passes), so
    /// that a caller can take the output and hand its gradient over in that layout.
    ///
    /// Without `backwardData`, the backward-data pass is left out of the check (its output
    /// gradient may need NCHW): for convolutions whose input gradient is rarely needed.
    static func acceptsBlockedOutput(_ g: Conv2DGeometry, algorithm: Algorithm, backwardData: Bool = true) -> Bool {
        acceptsBlocked(backwardData ? .output : .outputWithoutBackwardData, g, algorithm: algorithm)
    }

    /// Whether every pass's argument on `side` is nChw16c inside oneDNN, with and without bias
    /// (probed once per geometry, algorithm and thread count by creating the plans).
    private static func acceptsBlocked(_ side: BlockedSide, _ g: Conv2DGeometry, algorithm: Algorithm) -> Bool {
        guard (side == .input ? g.inChannels : g.outChannels) % 16 == 0 else { return false }
        if algorithm == .winograd && !supportsWinograd(g) { return false }
        let threads = syncThreads()
        let key = BlockedKey(plan: PlanKey(geometry: g, pass: .forward, bias: false, threads: threads, layout: .blocked,
                                           algorithm: algorithm), side: side)
        lock.lock()
        let known = blockedSupport[key]
        lock.unlock()
        if let known { return known }
        let blocked = memoryDesc(side == .input ? g.inputShape : g.outputShape, dnnl_nChw16c)
        let arguments: [(Pass, Int32)]
        switch side {
        case .input: arguments = [(.forward, argSrc), (.backwardData, argDiffSrc), (.backwardWeights, argSrc)]
        case .output: arguments = [(.forward, argDst), (.backwardData, argDiffDst), (.backwardWeights, argDiffDst)]
        case .outputWithoutBackwardData: arguments = [(.forward, argDst), (.backwardWeights, argDiffDst)]
        }
        let accepted = arguments.allSatisfy { pass, arg in
            [false, true].allSatisfy { bias in
                guard let a = plan(g, pass, bias: bias && pass != .backwardData, threads: threads, algorithm: algorithm)
                    .arguments[arg] else { return false }
                return equal(a.inner, blocked)
            }
        }
        lock.lock()
        blockedSupport[key] = accepted
        lock.unlock()
        return accepted
    }

    /// `output = conv(input, weight) + bias (+ addend)`, NCHW / OIHW pointers (with `blockedInput`,
    /// `input` is in nChw16c: check ``acceptsBlockedInput(_:algorithm:)``; with `blockedOutput`,
    /// `output` is written in nChw16c: check ``acceptsBlockedOutput(_:algorithm:)``). `addend`, a
    /// `[O, Ho, Wo]` map added to every sample, is added while the output leaves oneDNN's layout
    /// where it has one, else in a pass of its own (the same bits either way); it needs an NCHW output.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, algorithm: Algorithm = .direct,
                        blockedInput: Bool = false, blockedOutput: Bool = false, addend: UnsafePointer<Float>? = nil) {
        precondition(!(blockedOutput && addend != nil), "OneDNNConvolution: an addend needs an NCHW output")
        let threads = syncThreads()
        let p = plan(g, .forward, bias: bias != nil, threads: threads, algorithm: algorithm)
        let e = Execution()
        let src = p.arguments[argSrc]!
        var args: [(Int32, dnnl_memory_t)] = [
            (argSrc, blockedInput ? e.wrap(src.inner, input) : e.input(src, input)),
            (argWeights, e.input(p.arguments[argWeights]!, weight)),
        ]
        if let bias { args.append((argBias, e.input(p.arguments[argBias]!, bias))) }
        let dstArgument = p.arguments[argDst]!
        let fold = dstArgument.blocked16 != nil
        let (dst, finishDst) = blockedOutput ? (e.wrap(dstArgument.inner, output), {})
            : e.output(dstArgument, output, addend: fold ? addend : nil)
        args.append((argDst, dst))
        e.run(p.primitive, args)
        finishDst()
        e.finish()
        if let addend, !fold {
            let perSample = g.outChannels * g.outputHeight * g.outputWidth
            nsde_bias_add_inplace(output, addend, Int64(g.batch), Int64(perSample))
        }
    }

    /// The requested gradients (non-nil output pointers) of `conv(input, weight) + bias (+ addend)`.
    /// `input` is needed for the weight and bias gradients, `weight` for the input gradient; the
    /// addend's gradient (the sum of `gradOutput` over the batch, `[O, Ho, Wo]`) is taken while the
    /// output gradient enters oneDNN's layout where it does, else in a pass of its own (same bits).
    /// With `blockedOutput`, `gradOutput` is in nChw16c (as the forward pass's output was) and
    /// there is no addend.
    static func backward(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>?,
                         weight: UnsafePointer<Float>?, gradInput: UnsafeMutablePointer<Float>?,
                         gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?,
                         algorithm: Algorithm = .direct, blockedInput: Bool = false, blockedOutput: Bool = false,
                         gradAddend: UnsafeMutablePointer<Float>? = nil) {
        precondition(!(blockedOutput && gradAddend != nil), "OneDNNConvolution: an addend needs an NCHW output")
        var gradAddend = gradAddend
        // The bias gradient of a blocked output comes from oneDNN's weight-gradient pass.
        let weightScratch = blockedOutput && gradWeight == nil && gradBias != nil
            ? TensorStorage(uninitializedCount: g.weightShape.reduce(1, *)) : nil
        let gradWeight = gradWeight ?? weightScratch?.pointer
        defer { withExtendedLifetime(weightScratch) {} }
        defer {
            if let gradAddend {
                // Not folded into a layout conversion: the batch sum of Reduction.reduce.
                let perSample = g.outChannels * g.outputHeight * g.outputWidth
                nsde_sum_rows(gradOutput, Int64(g.batch), Int64(perSample), 0, Int64(perSample), gradAddend)
            }
        }
        if gradWeight == nil, let gradBias {
            // Bias alone: a reduction, no convolution needed.
            Im2Col.biasGradient(g, gradOutput: gradOutput, gradBias: gradBias)
            if gradInput == nil { return }
        }
        if gradInput == nil && gradWeight == nil { return }
        /// The output gradient in the layout of `dd`, with the addend's gradient when it can be folded in.
        func convertedGradient(_ e: Execution, _ dd: Argument) -> dnnl_memory_t {
            if blockedOutput { return e.wrap(dd.inner, gradOutput) }
            guard dd.blocked16 != nil, let sums = gradAddend else { return e.input(dd, gradOutput) }
            gradAddend = nil
            return e.input(dd, gradOutput, sums: sums)
        }
        let threads = syncThreads()
        let e = Execution()
        var sharedDiffDst: (md: dnnl_memory_desc_t, mem: dnnl_memory_t)?
        if let gradInput {
            let p = plan(g, .backwardData, bias: false, threads: threads, algorithm: algorithm)
            let dd = p.arguments[argDiffDst]!
            let diffDst = convertedGradient(e, dd)
            if dd.reorder != nil { sharedDiffDst = (dd.inner, diffDst) }
            let w = e.input(p.arguments[argWeights]!, weight!)
            let diffSrc = p.arguments[argDiffSrc]!
            let (ds, finishDs) = blockedInput ? (e.wrap(diffSrc.inner, gradInput), {}) : e.output(diffSrc, gradInput)
            e.run(p.primitive, [(argDiffDst, diffDst), (argWeights, w), (argDiffSrc, ds)])
            finishDs()
        }
        if let gradWeight {
            let p = plan(g, .backwardWeights, bias: gradBias != nil, threads: threads, algorithm: algorithm)
            let dd = p.arguments[argDiffDst]!
            let diffDst: dnnl_memory_t
            if let shared = sharedDiffDst, equal(shared.md, dd.inner) {
                diffDst = shared.mem
            } else {
                diffDst = convertedGradient(e, dd)
            }
            let source = p.arguments[argSrc]!
            let src = blockedInput ? e.wrap(source.inner, input!) : e.input(source, input!)
            let (dw, finishDw) = e.output(p.arguments[argDiffWeights]!, gradWeight)
            var args: [(Int32, dnnl_memory_t)] = [(argSrc, src), (argDiffDst, diffDst), (argDiffWeights, dw)]
            var finishDb: () -> Void = {}
            if let gradBias {
                let (db, f) = e.output(p.arguments[argDiffBias]!, gradBias)
                args.append((argDiffBias, db))
                finishDb = f
            }
            e.run(p.primitive, args)
            finishDw()
            finishDb()
        }
        e.finish()
    }

    /// The oneDNN implementation names chosen for a geometry, e.g. `"jit:avx2"` (for reports).
    static func implementations(_ g: Conv2DGeometry) -> (forward: String, backwardData: String, backwardWeights: String) {
        let t = syncThreads()
        return (plan(g, .forward, bias: false, threads: t).implementation,
                plan(g, .backwardData, bias: false, threads: t).implementation,
                plan(g, .backwardWeights, bias: false, threads: t).implementation)
    }
}
