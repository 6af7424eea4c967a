import Foundation

/// CIFAR-100 (Krizhevsky 2009), binary version: 60,000 colour 32x32 images, 50,000 for training
/// (`train.bin`) and 10,000 for testing (`test.bin`), each labelled with one of 100 fine classes
/// and one of 20 coarse superclasses.
///
/// Each record is 2 label bytes (coarse 0...19, then fine 0...99) and 3,072 pixel bytes (see
/// ``CIFARRecordLayout``). Images load as an ``InMemoryImageDataset`` of shape `[n, 3, 32, 32]`
/// whose batches are float32 NCHW in `[0, 1]` (`pixel / 255`).
///
/// ```swift
/// let test = try CIFAR100.load(split: .test, directory: dir)                    // 100 classes
/// let coarse = try CIFAR100.load(split: .test, directory: dir, labels: .coarse) // 20 classes
/// ```
public enum CIFAR100 {
    /// Which of the two labels of a record to use.
    public enum LabelKind: String, Sendable, CaseIterable {
        /// The 20 superclasses (first label byte).
        case coarse
        /// The 100 classes (second label byte); the usual choice and the default.
        case fine

        /// Number of classes: 20 or 100.
        public var classCount: Int { self == .fine ? 100 : 20 }
        /// Index of the label byte in a record: 0 (coarse) or 1 (fine).
        public var labelOffset: Int { self == .fine ? 1 : 0 }
        /// The optional class-names file: `fine_label_names.txt` or `coarse_label_names.txt`.
        public var classNamesFile: String { "\(rawValue)_label_names.txt" }
        /// The built-in class names, indexed by label.
        public var classNames: [String] { self == .fine ? CIFAR100.fineClassNames : CIFAR100.coarseClassNames }
        /// The record layout reading this label.
        public var layout: CIFARRecordLayout {
            CIFARRecordLayout(name: "CIFAR-100", labelBytes: 2, labelOffset: labelOffset, classCount: classCount)
        }
    }

    /// The 100 fine class names of the official release (`fine_label_names.txt`), by label.
    public static let fineClassNames = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ]

    /// The 20 coarse class names of the official release (`coarse_label_names.txt`), by label.
    public static let coarseClassNames = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2",
    ]

    /// The folder the official archive `cifar-100-binary.tar.gz` extracts to;
    /// ``load(split:directory:labels:)`` looks inside it when `directory` itself lacks the files.
    public static let subdirectory = "cifar-100-binary"

    /// What a CIFAR-100 directory must hold, for error messages.
    public static let expectedContents =
        "the CIFAR-100 binary version: train.bin and test.bin (records of 2 label bytes + 3072 pixel bytes), "
        + "directly or in \(subdirectory)/"

    /// The file name of `split`: `train.bin` or `test.bin`.
    public static func fileName(split: DatasetSplit) -> String { "\(split.rawValue).bin" }

    /// The directory holding the files: `directory`, or `directory/cifar-100-binary` when only
    /// that holds them.
    public static func resolvedDirectory(_ directory: URL) -> URL {
        DatasetFiles.resolve(directory, subdirectory: subdirectory, marker: "test.bin")
    }

    /// Loads a split from a directory holding `train.bin` / `test.bin` (or their
    /// `cifar-100-binary` folder). Class names come from `fine_label_names.txt` /
    /// `coarse_label_names.txt` when present, else the built-in lists.
    ///
    /// - Parameters:
    ///   - split: `.train` (50,000 images) or `.test` (10,000).
    ///   - directory: the data directory.
    ///   - labels: `.fine` (default, 100 classes) or `.coarse` (20 superclasses).
    /// - Returns: an ``InMemoryImageDataset`` of shape `[n, 3, 32, 32]`.
    /// - Throws: ``DataError``: `missingDirectory`, `missingDatasetFile`, `wrongClassNames`, and
    ///   the format errors of ``CIFARRecordLayout/load(files:classes:)``.
    public static func load(split: DatasetSplit, directory: URL, labels: LabelKind = .fine) throws -> InMemoryImageDataset {
        try DatasetFiles.requireDirectory(directory, dataset: "CIFAR-100", expected: expectedContents)
        let dir = resolvedDirectory(directory)
        let file = dir.appendingPathComponent(fileName(split: split))
        try DatasetFiles.requireFiles([file], dataset: "CIFAR-100", expected: expectedContents)
        let classes = try DatasetFiles.classNames(dir.appendingPathComponent(labels.classNamesFile),
                                                  count: labels.classCount) ?? labels.classNames
        return try labels.layout.load(files: [file], classes: classes)
    }

    /// Loads the given CIFAR-100 record files, in order.
    ///
    /// - Parameters:
    ///   - files: files of 2 + 3,072-byte records.
    ///   - labels: `.fine` (default) or `.coarse`.
    ///   - classes: the class names (default: the built-in list of `labels`).
    /// - Throws: the errors of ``CIFARRecordLayout/load(files:classes:)``.
    public static func load(files: [URL], labels: LabelKind = .fine, classes: [String]? = nil) throws -> InMemoryImageDataset {
        try labels.layout.load(files: files, classes: classes ?? labels.classNames)
    }
}
