import Foundation

/// The record layout of the CIFAR "binary version" files (Krizhevsky 2009), shared by
/// ``CIFAR10`` and ``CIFAR100``.
///
/// A file is a sequence of records with no header. Each record is `labelBytes` label bytes
/// followed by 3,072 pixel bytes: 1,024 red, then 1,024 green, then 1,024 blue values, each
/// plane a 32x32 image stored row-major. This is already the `[C, H, W]` layout of one image of an
/// NCHW batch, so a record's pixels are copied as they are.
public struct CIFARRecordLayout: Sendable, Equatable {
    /// Pixel bytes per record: 3 x 32 x 32 = 3,072.
    public static let pixelBytes = 3_072
    /// Shape of one image, `[C, H, W]` = `[3, 32, 32]`.
    public static let imageShape = [3, 32, 32]

    /// The dataset's name for messages, e.g. `"CIFAR-10"`.
    public var name: String
    /// Label bytes at the start of each record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
    public var labelBytes: Int
    /// Which of the label bytes is the label used (0-based, `< labelBytes`).
    public var labelOffset: Int
    /// Number of classes of that label; stored labels must lie in `0..<classCount`.
    public var classCount: Int

    /// - Parameters:
    ///   - name: the dataset's name for messages.
    ///   - labelBytes: label bytes per record (≥ 1).
    ///   - labelOffset: index of the label byte used, in `0..<labelBytes`.
    ///   - classCount: number of classes of that label (1...256).
    public init(name: String, labelBytes: Int, labelOffset: Int, classCount: Int) {
        precondition(labelBytes >= 1 && labelOffset >= 0 && labelOffset < labelBytes,
                     "CIFARRecordLayout: label offset \(labelOffset) outside 0..<\(labelBytes)")
        precondition(classCount >= 1 && classCount <= 256, "CIFARRecordLayout: class count \(classCount) outside 1...256")
        self.name = name
        self.labelBytes = labelBytes
        self.labelOffset = labelOffset
        self.classCount = classCount
    }

    /// Bytes per record: `labelBytes + 3072`.
    public var recordBytes: Int { labelBytes + Self.pixelBytes }

    /// How a record is described in errors, e.g. `"CIFAR-10 record (1 label byte + 3072 pixel bytes)"`.
    public var recordDescription: String {
        "\(name) record (\(labelBytes) label byte\(labelBytes == 1 ? "" : "s") + \(Self.pixelBytes) pixel bytes)"
    }

    /// Reads CIFAR binary files, in order, into one ``InMemoryImageDataset`` of shape
    /// `[n, 3, 32, 32]` (n = total records) with `classes`. Pixels stay 8-bit and become
    /// `pixel / 255` in `[0, 1]` when batches are extracted (no mean/std normalisation, as in the
    /// paper).
    ///
    /// - Parameters:
    ///   - files: the record files (e.g. `data_batch_1.bin` ... `data_batch_5.bin`).
    ///   - classes: the class names, `classCount` of them.
    /// - Throws: ``DataError``: `missingFile`/`ioFailure`; `notWholeRecords` when a file's size
    ///   is not a positive multiple of ``recordBytes``; `labelOutOfRange` (with the record index
    ///   within its file) when a label is `>= classCount`.
    /// - Complexity: one read (memory map) per file and one 3,072-byte copy per record; about
    ///   0.1 s for the 50,000 CIFAR-10 training images.
    public func load(files: [URL], classes: [String]) throws -> InMemoryImageDataset {
        precondition(classes.count == classCount,
                     "CIFARRecordLayout.load: \(classes.count) class names for \(classCount) classes")
        let record = recordBytes
        var contents = [(url: URL, data: Data)]()
        var total = 0
        for url in files {
            let data = try DatasetFiles.mapped(url)
            guard data.count > 0 && data.count % record == 0 else {
                throw DataError.notWholeRecords(file: url.path, record: recordDescription,
                                                recordBytes: record, foundBytes: data.count)
            }
            contents.append((url, data))
            total += data.count / record
        }

        let per = Self.pixelBytes
        var labels = [Int](repeating: 0, count: total)
        var failure: DataError?
        let pixels = [UInt8](unsafeUninitializedCapacity: total * per) { dst, initialized in
            var n = 0
            fileLoop: for (url, data) in contents {
                let count = data.count / record
                data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                    let src = raw.bindMemory(to: UInt8.self).baseAddress!
                    for r in 0..<count {
                        let rec = src + r * record
                        let label = Int(rec[labelOffset])
                        if label >= classCount {
                            failure = .labelOutOfRange(file: url.path, index: r, label: label, classCount: classCount)
                            return
                        }
                        labels[n + r] = label
                        (dst.baseAddress! + (n + r) * per).update(from: rec + labelBytes, count: per)
                    }
                }
                if failure != nil { break fileLoop }
                n += count
            }
            // On failure the pixels are discarded; mark them initialised with zeros so the
            // array is always fully valid.
            if failure != nil { dst.baseAddress!.update(repeating: 0, count: total * per) }
            initialized = total * per
        }
        if let failure { throw failure }
        return InMemoryImageDataset(pixels: pixels, labels: labels, imageShape: Self.imageShape, classes: classes)
    }
}
