import CKernels
import Foundation

/// The library version.
public enum NeuralSDEVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}

/// Facts about the machine and the build, for `nsde info` and benchmark reports.
public enum SystemInfo {
    /// "debug" or "release".
    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The instruction-set level of the C elementwise kernels (Philox normals, tanh, same-shape
    /// arithmetic) that the loader picked for this processor: `avx512f`, `avx2` or `baseline`.
    /// Every level gives the same bits.
    public static var elementwiseKernelISA: String { String(cString: nsde_kernels_isa()) }

    /// The CPU model name and the SIMD features relevant to the kernels.
    public static var cpu: (model: String, features: [String]) {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown", []) }
        var model = "unknown", flags: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", model == "unknown" { model = parts[1] }
            if parts[0] == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        }
        let interesting = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"]
        return (model, interesting.filter { flags.contains($0) })
    }
}
