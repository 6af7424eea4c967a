import Foundation
import NSDETensor

/// File-system helpers shared by the directory-based loaders (CIFAR, STL-10, CIFAR-10-C and the
/// ``DatasetRegistry``): existence checks that throw errors naming the dataset and what it
/// expects, memory-mapped reads, well-known subdirectories and class-name files.
enum DatasetFiles {
    // MARK: - Existence

    /// Whether `url` exists and is a directory.
    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether `url` exists and is not a directory.
    static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Throws ``DataError/missingDirectory(directory:dataset:expected:)`` unless `directory` is an
    /// existing directory.
    static func requireDirectory(_ directory: URL, dataset: String, expected: String) throws {
        guard isDirectory(directory) else {
            throw DataError.missingDirectory(directory: directory.path, dataset: dataset, expected: expected)
        }
    }

    /// Throws ``DataError/missingDatasetFile(file:dataset:expected:)`` for the first of `files`
    /// that is not an existing file.
    static func requireFiles(_ files: [URL], dataset: String, expected: String) throws {
        for file in files where !isFile(file) {
            throw DataError.missingDatasetFile(file: file.path, dataset: dataset, expected: expected)
        }
    }

    /// `directory`, or `directory/subdirectory` when `directory` lacks `marker` but that
    /// subdirectory holds it (so both the extracted archive's folder and its parent work, e.g.
    /// `.../cifar-10-batches-bin` and `...`).
    static func resolve(_ directory: URL, subdirectory: String, marker: String) -> URL {
        if isFile(directory.appendingPathComponent(marker)) { return directory }
        let nested = directory.appendingPathComponent(subdirectory, isDirectory: true)
        if isFile(nested.appendingPathComponent(marker)) { return nested }
        return directory
    }

    // MARK: - Reading

    /// The whole file, memory-mapped where the system allows (pages are read only when
    /// touched, so a loader that uses one block of a large file reads only that block).
    ///
    /// - Throws: ``DataError/missingFile(file:)`` or ``DataError/ioFailure(file:reason:)``.
    /// - Returns: the file's size in bytes (`nil` when the system does not say).
    @discardableResult
    static func checkRegularFile(_ url: URL) throws -> Int? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(file: url.path)
        }
        if isDirectory.boolValue {
            throw DataError.ioFailure(file: url.path, reason: "is a directory, expected a file")
        }
        // A device or a pipe would read forever or fail with a misleading "permission" message.
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        let type = attributes?[.type] as? FileAttributeType
        if let type, type != .typeRegular, type != .typeSymbolicLink {
            let kind = type == .typeCharacterSpecial ? "a character device" : type == .typeBlockSpecial ? "a block device"
                : type == .typeSocket ? "a socket" : "not a regular file"
            throw DataError.ioFailure(file: url.path, reason: "is \(kind), expected a regular file")
        }
        return (attributes?[.size] as? NSNumber)?.intValue
    }

    /// The contents of `url`, memory-mapped, after ``checkRegularFile(_:)``.
    ///
    /// - Throws: ``DataError/missingFile(file:)`` or ``DataError/ioFailure(file:reason:)``.
    static func mapped(_ url: URL) throws -> Data {
        // An empty file is read without Foundation: swift-foundation's Data(contentsOf:) loses a
        // 4 KiB buffer on every empty file (a fuzz run of 500,000 empty-file inputs grew to 2 GB).
        if try checkRegularFile(url) == 0 { return Data() }
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw DataError.ioFailure(file: url.path, reason: readableErrorReason(error))
        }
    }

    /// The class names in `url`, one per line (surrounding white space trimmed, blank lines
    /// ignored), or `nil` when the file does not exist.
    ///
    /// - Throws: ``DataError/wrongClassNames(file:expectedCount:foundCount:)`` when the file
    ///   lists other than `count` names; ``DataError/ioFailure(file:reason:)``.
    static func classNames(_ url: URL, count: Int) throws -> [String]? {
        guard isFile(url) else { return nil }
        let text = String(decoding: try readFile(url), as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == count else {
            throw DataError.wrongClassNames(file: url.path, expectedCount: count, foundCount: names.count)
        }
        return names
    }
}
