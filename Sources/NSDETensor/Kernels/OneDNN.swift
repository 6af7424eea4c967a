import CDNNL
import Foundation

/// The process-wide oneDNN CPU engine and stream, and oneDNN's thread count.
public enum OneDNN {
    /// The CPU engine all primitives are created on.
    nonisolated(unsafe) public static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create")
        return e!
    }()

    /// The stream primitives execute on (in order; oneDNN parallelises inside each primitive).
    nonisolated(unsafe) public static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        return s!
    }()

    /// Traps with a message naming the call when a oneDNN call fails (a programmer error: the
    /// library validates shapes before calling oneDNN).
    public static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN: \(what()) failed with status \(status.rawValue)")
    }

    /// oneDNN version as "major.minor.patch".
    public static var version: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }

    /// oneDNN's threading runtime as reported by the library ("OpenMP", "sequential", ...).
    public static var runtime: String {
        guard let v = dnnl_version() else { return "unknown" }
        switch Int32(v.pointee.cpu_runtime) {
        case 1: return "sequential"
        case 2: return "OpenMP"
        case 4: return "TBB"
        case 8: return "threadpool"
        default: return "code \(v.pointee.cpu_runtime)"
        }
    }

    /// Whether oneDNN's kernels use AVX-512 here (its effective ISA is `avx512_core` or above:
    /// the processor has it and `DNNL_MAX_CPU_ISA` does not cap it below). Fixed for the process.
    public static let hasAVX512Kernels: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        return isa & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
    }()

    /// oneDNN's effective instruction set, for reports: `avx512_core`, `avx2`, ... .
    public static var effectiveISA: String {
        let isa = dnnl_get_effective_cpu_isa()
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { isa.rawValue & $0.0.rawValue == $0.0.rawValue }?.1 ?? "code \(isa.rawValue)"
    }

    /// Sets the OpenMP thread count used by oneDNN (looked up at run time in the loaded
    /// OpenMP runtime, so no OpenMP header is needed at build time).
    static func setThreadCount(_ n: Int) {
        setenv("OMP_NUM_THREADS", String(n), 1)
        typealias SetThreads = @convention(c) (Int32) -> Void
        if let sym = dlsym(nil, "omp_set_num_threads") { // RTLD_DEFAULT on glibc
            unsafeBitCast(sym, to: SetThreads.self)(Int32(n))
        }
    }
}
