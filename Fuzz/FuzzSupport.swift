// Shared by every fuzz target: compiled together with exactly one target file, which declares
// `typealias Fuzzed = <its FuzzTarget>`. See docs/fuzzing.md and scripts/fuzz.sh.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A parser under test: what libFuzzer feeds it, and the valid files its corpus starts from.
protocol FuzzTarget {
    /// Valid inputs, by file name, made with the package's own writers (the corpus seeds).
    static func seeds() throws -> [String: [UInt8]]

    /// Parses one input. Throwing is the expected outcome for most inputs; only a crash
    /// (trap, sanitizer report, stack overflow, out-of-memory, timeout) is a finding.
    static func fuzz(_ input: UnsafeRawBufferPointer) throws
}

/// libFuzzer's per-input entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size)
    _ = try? Fuzzed.fuzz(input)
    return 0
}

/// libFuzzer's start-up hook. With `NSDE_FUZZ_WRITE_SEEDS=<dir>` in the environment, the target
/// writes its seeds into `<dir>` and exits instead of fuzzing.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    guard let dir = ProcessInfo.processInfo.environment["NSDE_FUZZ_WRITE_SEEDS"] else { return 0 }
    do {
        let folder = URL(fileURLWithPath: dir, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, bytes) in try Fuzzed.seeds() {
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot write seeds to \(dir): \(error)\n".utf8))
        exit(1)
    }
}

/// A private scratch folder for parsers that only read files (in `/dev/shm` where it exists,
/// so writing an input costs a memory copy), removed when the process exits normally.
enum Scratch {
    static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base, isDirectory: true)
            .appendingPathComponent("nsde-fuzz-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.folder) }
        return url
    }()

    /// Writes `bytes` to `name` in the scratch folder (replacing it) and returns its URL.
    static func file(_ name: String, _ bytes: UnsafeRawBufferPointer) -> URL {
        let url = folder.appendingPathComponent(name)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(url.path)")
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "cannot write \(url.path)")
            done += n
        }
        close(fd)
        return url
    }
}
