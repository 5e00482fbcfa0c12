/// Why a data set could not be read. Each case names the file and what was expected.
public enum DataError: Error, CustomStringConvertible {
    case missing(path: String, hint: String)
    case unrecognised(directory: String)
    case format(path: String, field: String, expected: String, found: String)
    case truncated(path: String, offset: Int, expected: Int, found: Int)
    case gzip(path: String, reason: String)
    case label(path: String, index: Int, value: Int, classes: Int)
    case mismatch(String)
    case emptyClass(classIndex: Int, reason: String)

    public var description: String {
        switch self {
        case .missing(let path, let hint):
            return "\(path): not found\nHINT: \(hint)"
        case .unrecognised(let directory):
            return """
                \(directory): no data set layout recognised
                HINT: expected IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
                t10k-labels-idx1-ubyte, each raw or .gz), \
                CIFAR-10 (data_batch_1..5.bin, test_batch.bin), CIFAR-100 (train.bin, test.bin) or NumPy \
                (train_images.npy, train_labels.npy or train_images-00000.npy/train_labels-00000.npy shards, \
                test_images.npy, test_labels.npy), an image folder (train/CLASS/*.png|jpg and test/CLASS/... or \
                val/CLASS/...) or tar shards (train-*.tar and test-*.tar, \
                or --data 'shards/train-{00000..00099}.tar')
                """
        case .format(let path, let field, let expected, let found):
            return "\(path): \(field): expected \(expected), found \(found)"
        case .truncated(let path, let offset, let expected, let found):
            return "\(path): truncated at byte offset \(offset): expected \(expected) bytes, found \(found)"
        case .gzip(let path, let reason):
            return "\(path): broken gzip stream: \(reason)"
        case .label(let path, let index, let value, let classes):
            return "\(path): label of sample \(index) is \(value), expected a label in 0..<\(classes)"
        case .mismatch(let text):
            return text
        case .emptyClass(let k, let reason):
            return "class \(k) has no training samples: \(reason)"
        }
    }
}

/// Sizes read from a file, multiplied without overflow: nil when a factor is negative or the
/// product does not fit in an Int (a crafted header must give an error, not a trap).
func checkedProduct(_ factors: [Int]) -> Int? {
    var product = 1
    for f in factors {
        guard f >= 0 else { return nil }
        let (p, overflow) = product.multipliedReportingOverflow(by: f)
        if overflow { return nil }
        product = p
    }
    return product
}

