/// Errors raised when an output file (a table, a plot, a report) cannot be written.
///
/// Every case names the destination path (as the caller gave it, made absolute), and where it
/// applies the directory and the operating system's reason, so ``description`` alone says what to
/// fix.
public enum OutputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The destination's directory does not exist.
    case directoryNotFound(path: String, directory: String)
    /// A component of the destination's directory path exists but is not a directory.
    case notADirectory(path: String, directory: String)
    /// The destination itself is an existing directory.
    case isADirectory(path: String)
    /// The destination's directory exists but no file can be created in it (permissions, a
    /// read-only file system); `reason` is the operating system's message.
    case notWritable(path: String, directory: String, reason: String)
    /// Writing, flushing or renaming the file failed for another reason (disk full, I/O error);
    /// `reason` is the operating system's message. No partial file is left at `path`.
    case writeFailed(path: String, reason: String)

    /// The destination path.
    public var path: String {
        switch self {
        case .directoryNotFound(let p, _), .notADirectory(let p, _), .isADirectory(let p),
             .notWritable(let p, _, _), .writeFailed(let p, _):
            return p
        }
    }

    /// A one-line explanation naming the path, what was expected and what was found.
    public var description: String {
        switch self {
        case .directoryNotFound(let p, let dir):
            return "cannot write \(p): directory \(dir) does not exist"
        case .notADirectory(let p, let dir):
            return "cannot write \(p): \(dir) is not a directory"
        case .isADirectory(let p):
            return "cannot write \(p): it is a directory"
        case .notWritable(let p, let dir, let reason):
            return "cannot write \(p): directory \(dir) is not writable (\(reason))"
        case .writeFailed(let p, let reason):
            return "cannot write \(p): \(reason)"
        }
    }
}
