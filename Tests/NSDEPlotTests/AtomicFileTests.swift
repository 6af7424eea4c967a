import Foundation
import XCTest
@testable import NSDEPlot

final class AtomicFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The names in `directory`, sorted.
    func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    /// `write(to:)` writes exactly `svgString()`, replaces an existing file, and leaves no
    /// temporary file behind.
    func testWriteCreatesAndReplacesTheFile() throws {
        let url = directory.appendingPathComponent("plot.svg")
        let plot = LinePlot(title: "first", series: [Series(name: "a", x: [0, 1], y: [0, 1])])
        try plot.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), plot.svgString())
        var second = plot
        second.title = "second"
        try second.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), second.svgString())
        XCTAssertEqual(try listing(), ["plot.svg"])
    }

    /// A missing directory is reported with the path and the missing directory; nothing is created.
    func testMissingDirectoryNamesThePath() throws {
        let url = directory.appendingPathComponent("no/such/dir/plot.svg")
        XCTAssertThrowsError(try LinePlot().write(to: url)) { error in
            guard let error = error as? OutputError else { return XCTFail("\(error)") }
            XCTAssertEqual(error, .directoryNotFound(path: url.path, directory: directory.appendingPathComponent("no").path))
            XCTAssertEqual(error.path, url.path)
            XCTAssertEqual(error.description, "cannot write \(url.path): directory \(directory.appendingPathComponent("no").path) does not exist")
        }
        XCTAssertEqual(try listing(), [])
    }

    /// A file where a directory should be is reported as such.
    func testFileAsDirectoryIsReported() throws {
        let blocker = directory.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let url = blocker.appendingPathComponent("plot.svg")
        XCTAssertThrowsError(try AtomicFile.write("x", to: url)) { error in
            XCTAssertEqual(error as? OutputError, .notADirectory(path: url.path, directory: blocker.path))
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
        XCTAssertEqual(try listing(), ["file"])
    }

    /// Writing onto an existing directory fails after the temporary file was written (at the
    /// rename), and the temporary file is removed: no partial file is left anywhere.
    func testFailedRenameLeavesNoPartialFile() throws {
        let target = directory.appendingPathComponent("taken.svg")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(at: target.appendingPathComponent("inside"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try LinePlot(title: "big").write(to: target)) { error in
            XCTAssertEqual(error as? OutputError, .isADirectory(path: target.path))
            XCTAssertEqual("\(error)", "cannot write \(target.path): it is a directory")
        }
        XCTAssertEqual(try listing(), ["taken.svg"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["inside"])
        XCTAssertThrowsError(try AtomicFile.checkWritable(target))
        XCTAssertThrowsError(try AtomicFile.write("x", to: URL(fileURLWithPath: directory.path + "/")))
    }

    /// A directory that accepts no new file is reported as not writable, naming path and
    /// directory, and an existing file there keeps its contents. Uses a read-only directory, or
    /// (as root, who ignores permissions) `/proc`, where no file can be created.
    func testUnwritableDirectoryNamesThePathAndKeepsTheOldFile() throws {
        let readOnly: URL
        if geteuid() == 0 {
            readOnly = URL(fileURLWithPath: "/proc")
            guard FileManager.default.fileExists(atPath: "/proc/self") else { throw XCTSkip("no /proc") }
        } else {
            readOnly = directory.appendingPathComponent("ro")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: false)
            try Data("old".utf8).write(to: readOnly.appendingPathComponent("plot.svg"))
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
        }
        let url = readOnly.appendingPathComponent("plot.svg")
        for attempt in [{ try LinePlot().write(to: url) }, { try AtomicFile.checkWritable(url) }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard let error = error as? OutputError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.path, url.path)
                XCTAssertTrue(error.description.hasPrefix("cannot write \(url.path): "), error.description)
                if case .notWritable(_, let dir, let reason) = error {
                    XCTAssertEqual(dir, readOnly.path)
                    XCTAssertFalse(reason.isEmpty)
                } else if case .writeFailed = error {
                    // Some file systems answer with another errno; the path is still named.
                } else {
                    XCTFail("unexpected \(error)")
                }
            }
        }
        if geteuid() != 0 {
            XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "old")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly.path), ["plot.svg"])
        }
    }

    /// `checkWritable` accepts a writable destination and leaves nothing behind.
    func testCheckWritableLeavesNothing() throws {
        try AtomicFile.checkWritable(directory.appendingPathComponent("later.svg"))
        XCTAssertEqual(try listing(), [])
    }
}
