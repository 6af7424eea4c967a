import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files atomically: readers see the old file or the complete new one, never a part.
///
/// The contents go to a hidden temporary file in the destination's directory
/// (`.NAME.tmp-XXXXXXXXXXXXXXXX`), which is flushed (`fsync`) and then renamed over the
/// destination (`rename(2)`, atomic within one file system). On any failure the temporary file is
/// removed and an existing file at the destination is left unchanged.
///
/// - Note: The new file gets mode 0644 less the process umask; an existing file's mode is not
///   kept. Symbolic links at the destination are replaced, not followed.
public enum AtomicFile {
    /// Writes `data` to the file `url` atomically.
    ///
    /// - Parameters:
    ///   - data: the complete file contents.
    ///   - url: a file URL; its directory must exist and be writable.
    /// - Throws: ``OutputError`` naming the path: ``OutputError/directoryNotFound(path:directory:)``,
    ///   ``OutputError/notADirectory(path:directory:)``, ``OutputError/isADirectory(path:)``,
    ///   ``OutputError/notWritable(path:directory:reason:)`` or
    ///   ``OutputError/writeFailed(path:reason:)``.
    public static func write(_ data: Data, to url: URL) throws(OutputError) {
        let (path, directory, temporary) = try locations(url)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw openError(errno, path: path, directory: directory) }
        var failure: String? = FaultInjection.shouldFail(.write, path: path) ? "write failed: injected fault (\(FaultInjection.variable))" : nil
        if failure == nil { data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard var p = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let n = systemWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(systemMessage(errno))"
                    return
                }
                p += n
                left -= n
            }
        } }
        if failure == nil, fsync(fd) != 0 { failure = "fsync failed: \(systemMessage(errno))" }
        if close(fd) != 0, failure == nil { failure = "close failed: \(systemMessage(errno))" }
        if let failure {
            unlink(temporary)
            throw .writeFailed(path: path, reason: failure)
        }
        if FaultInjection.shouldFail(.rename, path: path) {
            unlink(temporary)
            throw .writeFailed(path: path, reason: "rename failed: injected fault (\(FaultInjection.variable))")
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            if code == EISDIR || isDirectory(path) { throw .isADirectory(path: path) }
            throw .writeFailed(path: path, reason: "rename failed: \(systemMessage(code))")
        }
    }

    /// Writes `string` as UTF-8 to the file `url` atomically (see ``write(_:to:)-(Data,_)``).
    ///
    /// - Throws: ``OutputError`` naming the path.
    public static func write(_ string: String, to url: URL) throws(OutputError) {
        try write(Data(string.utf8), to: url)
    }

    /// Checks, without touching an existing file, that ``write(_:to:)-(Data,_)`` could create
    /// `url`: the directory exists and accepts a new file, and `url` is not a directory.
    ///
    /// Call it before a long computation whose result goes to `url`, so a bad path fails at once.
    /// It creates and removes an empty temporary file in the directory.
    ///
    /// - Throws: the same ``OutputError`` cases as ``write(_:to:)-(Data,_)``.
    public static func checkWritable(_ url: URL) throws(OutputError) {
        let (path, directory, temporary) = try locations(url)
        if isDirectory(path) { throw .isADirectory(path: path) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw openError(errno, path: path, directory: directory) }
        close(fd)
        unlink(temporary)
    }

    // MARK: - Helpers

    /// The absolute destination path, its directory and a fresh temporary path beside it.
    static func locations(_ url: URL) throws(OutputError) -> (path: String, directory: String, temporary: String) {
        let absolute = url.isFileURL ? url.standardizedFileURL : URL(fileURLWithPath: url.path).standardizedFileURL
        var path = absolute.path
        let name = absolute.lastPathComponent
        if url.path.hasSuffix("/") || name.isEmpty || name == "/" || name == "." || name == ".." {
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            throw .isADirectory(path: path)
        }
        let directory = absolute.deletingLastPathComponent().path
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = (directory.hasSuffix("/") ? directory : directory + "/") + "." + name + ".tmp-" + suffix
        return (path, directory, temporary)
    }

    /// Maps an `open(2)` failure in the destination's directory to an error naming the path.
    static func openError(_ code: Int32, path: String, directory: String) -> OutputError {
        switch code {
        case ENOENT where isDirectory(directory):
            // The directory exists but refuses new entries (e.g. /proc).
            return .notWritable(path: path, directory: directory, reason: systemMessage(code))
        case ENOENT:
            // The directory (or one above it) is missing; name the topmost missing one.
            var missing = directory
            var parent = (missing as NSString).deletingLastPathComponent
            while parent != missing && !FileManager.default.fileExists(atPath: parent) {
                missing = parent
                parent = (missing as NSString).deletingLastPathComponent
            }
            return .directoryNotFound(path: path, directory: missing)
        case ENOTDIR:
            return .notADirectory(path: path, directory: directory)
        case EACCES, EPERM, EROFS:
            return .notWritable(path: path, directory: directory, reason: systemMessage(code))
        case EISDIR:
            return .isADirectory(path: path)
        default:
            return .writeFailed(path: path, reason: systemMessage(code))
        }
    }

    /// Whether `path` names an existing directory (following symbolic links).
    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    /// The C library's message for `code`, e.g. "Permission denied".
    static func systemMessage(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// `write(2)`, named apart from ``AtomicFile/write(_:to:)-(Data,_)``.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// Injected failures of ``AtomicFile``'s writes and renames, for testing crash consistency
/// (never active unless asked for).
///
/// The environment variable `NSDE_FAULT_INJECTION` holds comma-separated `KIND:N` entries, KIND
/// `write` or `rename`: the N-th (1-based) write, or rename, of an atomic file in this process
/// fails as if the disk were full, e.g. `write:3,rename:3`. Tests may instead set ``decide``.
public enum FaultInjection {
    /// What can be made to fail.
    public enum Operation: String, Sendable { case write, rename }

    /// The environment variable read once at the first atomic write.
    public static let variable = "NSDE_FAULT_INJECTION"

    /// Decides for each operation (with the destination path) whether it fails; `nil`: the
    /// environment variable's plan (usually none). For tests.
    nonisolated(unsafe) public static var decide: ((Operation, String) -> Bool)?

    nonisolated(unsafe) private static var counts: [Operation: Int] = [:]
    private static let plan: [Operation: Set<Int>] = {
        guard let text = ProcessInfo.processInfo.environment[variable] else { return [:] }
        var plan: [Operation: Set<Int>] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let operation = Operation(rawValue: String(parts[0])), let n = Int(parts[1]), n >= 1 else { continue }
            plan[operation, default: []].insert(n)
        }
        return plan
    }()

    static func shouldFail(_ operation: Operation, path: String) -> Bool {
        if let decide { return decide(operation, path) }
        guard !plan.isEmpty else { return false }
        counts[operation, default: 0] += 1
        return plan[operation]?.contains(counts[operation]!) ?? false
    }
}
