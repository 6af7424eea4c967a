import Foundation

/// One readable line for any error a command can meet, for messages shown to a user.
///
/// - `DecodingError`: where in the document and what was wrong, e.g.
///   `at configuration.model.width: invalid width: expected at most 4096, got 1000000000`
///   (not Swift's `dataCorrupted(Swift.DecodingError.Context(...))`);
/// - Foundation file errors (`NSCocoaErrorDomain`, POSIX): the path and the reason, e.g.
///   `/data/x.npy: no such file`, `/dev/null: not a regular file`;
/// - anything else: its description.
///
/// Text that came from a file is clipped (``clipForMessage(_:limit:)``), and so is the whole
/// line at 2,000 characters.
public func readableError(_ error: Error) -> String {
    clipForMessage(readableErrorText(error), limit: 2_000)
}

/// ``readableError(_:)`` without the path of a file error, for messages that name the file
/// already: `no such file or directory`, `permission denied`, ….
public func readableErrorReason(_ error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain, !(error is DecodingError) else {
        return readableError(error)
    }
    return fileErrorReason(ns)
}

private func fileErrorReason(_ ns: NSError) -> String {
    let posix = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
        ?? (ns.domain == NSPOSIXErrorDomain ? ns.code : nil)
    return posix.map(posixReason) ?? cocoaReason(ns.code)
}

private func readableErrorText(_ error: Error) -> String {
    if let decoding = error as? DecodingError { return describe(decoding) }
    let ns = error as NSError
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let reason = fileErrorReason(ns)
        return path.map { "\($0): \(reason)" } ?? reason
    }
    return "\(error)"
}

private func describe(_ error: DecodingError) -> String {
    func at(_ path: [CodingKey]) -> String {
        guard !path.isEmpty else { return "" }
        return "at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[") + ": "
    }
    switch error {
    case let .dataCorrupted(context):
        let underlying = context.underlyingError.map { " (\(clipForMessage(String(describing: $0))))" } ?? ""
        return at(context.codingPath) + clipForMessage(context.debugDescription) + underlying
    case let .keyNotFound(key, context):
        return at(context.codingPath) + "missing key '\(key.stringValue)'"
    case let .typeMismatch(type, context):
        return at(context.codingPath) + "expected \(type), " + clipForMessage(context.debugDescription)
    case let .valueNotFound(type, context):
        return at(context.codingPath) + "expected \(type), found null"
    @unknown default:
        return "\(error)"
    }
}

private func posixReason(_ code: Int) -> String {
    switch Int32(code) {
    case ENOENT: return "no such file or directory"
    case EACCES, EPERM: return "permission denied"
    case EISDIR: return "is a directory, expected a file"
    case ENOTDIR: return "a part of the path is not a directory"
    case ENOSPC: return "no space left on the device"
    case EDQUOT: return "disk quota exceeded"
    case EROFS: return "read-only file system"
    case EEXIST: return "already exists"
    case ENAMETOOLONG: return "file name too long"
    case EMFILE, ENFILE: return "too many open files"
    case EIO: return "input/output error"
    default: return String(cString: strerror(Int32(code)))
    }
}

private func cocoaReason(_ code: Int) -> String {
    switch code {
    case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: return "no such file or directory"
    case CocoaError.fileReadNoPermission.rawValue, CocoaError.fileWriteNoPermission.rawValue: return "permission denied"
    case CocoaError.fileWriteOutOfSpace.rawValue: return "no space left on the device"
    case CocoaError.fileWriteVolumeReadOnly.rawValue: return "read-only file system"
    case CocoaError.fileWriteFileExists.rawValue: return "already exists"
    case CocoaError.fileReadCorruptFile.rawValue: return "the file could not be read (corrupt or not a regular file)"
    case CocoaError.fileReadTooLarge.rawValue: return "the file is too large to read"
    case CocoaError.fileReadInvalidFileName.rawValue, CocoaError.fileWriteInvalidFileName.rawValue: return "invalid file name"
    default: return "file operation failed (Foundation error \(code))"
    }
}
