import Foundation

/// Prints an `Encodable` value as one JSON object on stdout (sorted keys), the contract every
/// `--json` flag follows.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write("\n".data(using: .utf8)!)
}

/// Writes a progress or status line to stderr, keeping stdout clean for `--json`.
func status(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}
