/// The datasets the command line knows, by the name it accepts (`--dataset cifar10`).
///
/// Each name has a ``DatasetInfo`` (``info``) and is loaded by
/// ``DatasetRegistry/load(_:split:dataDirectory:options:)``.
public enum DatasetName: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Fashion-MNIST: grey 28x28, 10 classes; default directory `/usr/share/datasets/fashion-mnist`.
    case fashionMNIST = "fashion-mnist"
    /// MNIST: grey 28x28 digits, 10 classes.
    case mnist
    /// CIFAR-10 binary version: colour 32x32, 10 classes.
    case cifar10
    /// CIFAR-100 binary version: colour 32x32, 100 fine (or 20 coarse) classes.
    case cifar100
    /// STL-10 binary version: colour 96x96, 10 classes.
    case stl10
    /// CIFAR-10-C: the CIFAR-10 test set under 19 corruptions x 5 severities (test only).
    case cifar10c

    /// The dataset called `name` (exactly as in ``allCases``' raw values).
    ///
    /// - Throws: ``DataError/unknownDataset(name:known:)`` listing the known names.
    public init(parsing name: String) throws {
        guard let value = DatasetName(rawValue: name) else {
            throw DataError.unknownDataset(name: name, known: DatasetName.allCases.map(\.rawValue))
        }
        self = value
    }

    /// The dataset's description and paper defaults.
    public var info: DatasetInfo { DatasetInfo.of(self) }

    /// The command-line name, e.g. `"fashion-mnist"`.
    public var description: String { rawValue }
}
