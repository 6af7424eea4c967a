import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Corrupt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the CIFAR-10-C corruptions (Hendrycks & Dietterich 2019) to a .npy of uint8 images.",
            usage: """
            nsde corrupt --input <file.npy> --corruption <name> --severity <k> --out <file.npy> [--seed <seed>]
              nsde corrupt --input <file.npy> --all-severities --out-dir <dir> [--corruption <names>] [--labels <file.npy>] [--seed <seed>]
              nsde corrupt --list
            """,
            discussion: """
            One corruption at one severity: reads --input, uint8 images of shape [N, H, W, C] (NHWC, C = 1 \
            or 3) or [N, H, W] (greyscale), and writes the corrupted images with the same shape and dtype to \
            --out, atomically (a temporary file renamed into place).

            A CIFAR-10-C-style directory: with --all-severities --out-dir DIR, writes DIR/<name>.npy for each \
            corruption in --corruption (comma-separated names, or all, the default): uint8 [5N, H, W, C] with \
            severity s in rows (s − 1)N ..< sN; and, with --labels FILE.npy (N integers), DIR/labels.npy: the \
            labels tiled 5 times, uint8. 32x32 RGB output loads with the CIFAR-10-C loader.

            The corruptions follow make_cifar_c.py with the CIFAR-10 parameter tables, for any image size; \
            frost uses procedurally generated textures instead of the release's photographs. Randomness: \
            image i uses the Philox stream (seed XOR FNV-1a(name), severity << 48 | (--first-index + i)), \
            so the same seed gives identical bytes whatever --threads, and a set corrupted in pieces (with \
            --first-index) equals the set corrupted whole.
            """)

        @Option(help: ArgumentHelp("uint8 images: [N, H, W, C] with C = 1 or 3, or [N, H, W].", valueName: "file.npy"))
        var input: String?
        @Option(help: ArgumentHelp("Corruption name (see --list); with --all-severities a comma-separated list or 'all' (default all).",
                                   valueName: "name"))
        var corruption: String?
        @Option(help: "Severity, 1 (mildest) ... 5.")
        var severity: Int?
        @Option(help: ArgumentHelp("Output .npy: the corrupted images, same shape as --input (written atomically).", valueName: "file.npy"))
        var out: String?
        @Option(help: "Seed of the random draws (Philox key, mixed with the corruption's name).")
        var seed: UInt64 = 0
        @Option(help: "Index of --input's first image in the whole set (image i uses stream --first-index + i).")
        var firstIndex: Int = 0
        @Flag(help: "Print the corruption names, one per line, and exit.")
        var list = false
        @Flag(help: "Write every severity 1...5 of each corruption into --out-dir in the CIFAR-10-C layout.")
        var allSeverities = false
        @Option(help: ArgumentHelp("Output directory for --all-severities (created if missing).", valueName: "dir"))
        var outDir: String?
        @Option(help: ArgumentHelp("With --all-severities: N integer labels (.npy, shape [N]) to write as labels.npy (tiled 5 times).",
                                   valueName: "file.npy"))
        var labels: String?
        @Flag(help: "Print one JSON object (input, shape, seed, corruptions, severities, files) instead of the summary.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let input: String
            let shape: [Int]
            let seed: UInt64
            let first_index: Int
            let corruptions: [String]
            let severities: [Int]
            let files: [String]
        }

        /// The corruptions named by --corruption (one name, a comma-separated list, or "all").
        func selectedCorruptions() throws -> [any Corruption] {
            guard let corruption, corruption != "all" else { return Corruptions.benchmark }
            let names = corruption.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if let repeated = names.enumerated().first(where: { names[..<$0.offset].contains($0.element) })?.element {
                throw ValidationError("--corruption lists '\(clipForMessage(repeated))' twice; give each corruption once")
            }
            return try names.map { name in
                do { return try Corruptions.named(name) } catch { throw ValidationError("--corruption: \(error)") }
            }
        }

        func validate() throws {
            if list { return }
            guard let input, !input.isEmpty else { throw ValidationError("--input FILE.npy is required (or --list)") }
            guard firstIndex >= 0, firstIndex < CorruptionStreams.indexLimit else {
                throw ValidationError("--first-index must be in 0..<2^48 (\(CorruptionStreams.indexLimit)), got \(firstIndex)")
            }
            if let threads = threadOptions.threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
            if allSeverities {
                guard let outDir, !outDir.isEmpty else { throw ValidationError("--all-severities needs --out-dir DIR") }
                if out != nil { throw ValidationError("--out is for one severity; with --all-severities give --out-dir DIR") }
                if severity != nil { throw ValidationError("--severity is not used with --all-severities (it writes severities 1...5)") }
                _ = try selectedCorruptions()
            } else {
                if outDir != nil { throw ValidationError("--out-dir is used with --all-severities") }
                if labels != nil { throw ValidationError("--labels is used with --all-severities") }
                guard let corruption else {
                    throw ValidationError("--corruption NAME is required (valid: \(Corruptions.names.joined(separator: ", ")))")
                }
                do { _ = try Corruptions.named(corruption) } catch { throw ValidationError("--corruption: \(error)") }
                guard let severity else { throw ValidationError("--severity K (1...5) is required") }
                guard Corruptions.severities.contains(severity) else {
                    throw ValidationError("--severity must be 1...5, got \(severity)")
                }
                guard let out, !out.isEmpty else { throw ValidationError("--out FILE.npy is required") }
            }
        }

        func run() throws {
            if list {
                for name in Corruptions.names { print(name) }
                return
            }
            try threadOptions.apply()
            let inputPath = input!
            let threads = threadOptions.threads.map { min($0, Parallel.maxUsefulThreads) }
            if allSeverities {
                let directory = URL(fileURLWithPath: outDir!)
                var labelValues: [Int]?
                if let labels {
                    let array = try NumPy.read(contentsOf: URL(fileURLWithPath: labels))
                    guard array.shape.count == 1, let values = array.integers() else {
                        throw RobustnessError.badLabels(
                            file: labels, reason: "labels must be a one-dimensional integer array, found \(array.dtype.descr) of shape \(array.shape)")
                    }
                    labelValues = values
                }
                let batch = try CorruptionBatch(NumPy.read(contentsOf: URL(fileURLWithPath: inputPath)), file: inputPath)
                if let labelValues, labelValues.count != batch.count {
                    throw RobustnessError.badLabels(file: labels!, reason: "\(labelValues.count) labels for \(batch.count) images in \(inputPath)")
                }
                let chosen = try selectedCorruptions()
                if labelValues == nil { status("note: no --labels given, so no labels.npy is written") }
                let files = try CIFAR10CWriter.write(batch, labels: labelValues, corruptions: chosen, seed: seed,
                                                     firstIndex: firstIndex, to: directory, threads: threads) { url in status("wrote \(url.path)") }
                let report = Report(input: inputPath, shape: batch.shape, seed: seed, first_index: firstIndex,
                                    corruptions: chosen.map(\.name), severities: Array(Corruptions.severities),
                                    files: files.map(\.path))
                if json { try printJSON(report); return }
                print("wrote \(chosen.count) corruption file(s) x 5 severities of \(batch.count) image(s) \(batch.height)x\(batch.width)x\(batch.channels) to \(directory.path) (seed \(seed))")
                return
            }
            let chosen = try Corruptions.named(corruption!)
            let outURL = URL(fileURLWithPath: out!)
            let batch = try CorruptionBatch(NumPy.read(contentsOf: URL(fileURLWithPath: inputPath)), file: inputPath)
            try AtomicFile.checkWritable(outURL)        // fail before corrupting
            let result = try batch.corrupted(by: chosen, severity: severity!, seed: seed, firstIndex: firstIndex, threads: threads)
            try NumPy.write(result.numPyArray, to: outURL)
            if json {
                try printJSON(Report(input: inputPath, shape: result.shape, seed: seed, first_index: firstIndex,
                                     corruptions: [chosen.name], severities: [severity!], files: [outURL.path]))
                return
            }
            let shape = "[" + result.shape.map(String.init).joined(separator: ", ") + "]"
            print("wrote \(outURL.path): \(chosen.name) severity \(severity!), \(result.count) image(s) \(shape) uint8, seed \(seed)")
        }
    }
}
