import Foundation

/// The names of a data set's classes, when its directory says them:
/// - `classes.txt` in the directory, one name per line (any layout; it takes precedence);
/// - CIFAR-10's `batches.meta.txt`, CIFAR-100's `fine_label_names.txt`;
/// - Fashion-MNIST's ten names for IDX files in a directory whose name says `fashion`
///   (Debian's `dataset-fashion-mnist` ships no names file).
/// A names file must give one name per class.
public enum ClassNames {
    public static let fashionMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    public static func find(in directory: String, layout: DatasetLayout, classes: Int) throws -> [String]? {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        var files = ["classes.txt"]
        switch layout {
        case .cifar10: files.append("batches.meta.txt")
        case .cifar100: files.append("fine_label_names.txt")
        case .idx, .npy, .imageFolder, .imageList, .tarShards: break
        }
        for file in files.map(path) where FileManager.default.fileExists(atPath: file) {
            return try read(file, classes: classes)
        }
        if case .idx = layout, classes == fashionMNIST.count,
           (directory as NSString).lastPathComponent.lowercased().contains("fashion") {
            return fashionMNIST
        }
        return nil
    }

    /// One name per non-empty line (surrounding spaces trimmed); exactly `classes` of them.
    static func read(_ file: String, classes: Int) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataError.format(path: file, field: "class names", expected: "a readable text file",
                                   found: "no access")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.format(path: file, field: "class names", expected: "UTF-8 text, one name per line",
                                   found: "other bytes")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == classes else {
            throw DataError.format(path: file, field: "class names", expected: "one name per class (\(classes) lines)",
                                   found: "\(names.count) names")
        }
        return names
    }
}
