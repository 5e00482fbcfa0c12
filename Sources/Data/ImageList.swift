import Foundation
import Settings

/// The ImageNet-LT / Places-LT / iNaturalist layout: `--data DIR` holds the images and list files
/// name them, one `relative/path.jpg LABEL` per line (the label an integer class index, after the
/// last space, so paths may hold spaces). `--train-list` and `--test-list` are needed together;
/// `--val-list` is the validation split. Images are decoded and cached as image folders' are.
public struct ImageLists: Codable, Sendable, Equatable {
    public var train: String
    public var val: String?
    public var test: String

    public init(train: String, val: String? = nil, test: String) {
        self.train = train
        self.val = val
        self.test = test
    }

    /// The images one list file names under `root`, with their labels, in the file's order. A line
    /// without a label, a label that is not a class index, or an image that is not there is an
    /// error naming the file and the line.
    public static func read(_ list: String, root: String) throws -> [(path: String, label: Int32)] {
        guard FileManager.default.fileExists(atPath: list) else {
            throw DataError.missing(path: list, hint: "a list file of images under \(root), one " +
                                                      "'relative/path.jpg LABEL' per line")
        }
        guard let text = String(data: Data(try FileBytes.read(list)), encoding: .utf8) else {
            throw DataError.format(path: list, field: "contents", expected: "UTF-8 text, 'relative/path.jpg LABEL' " +
                                   "per line", found: "other bytes")
        }
        var out: [(String, Int32)] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            let field = "line \(n + 1)"
            guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw DataError.format(path: list, field: field, expected: "'relative/path.jpg LABEL'",
                                       found: "'\(line.prefix(80))'")
            }
            let name = line[..<space].trimmingCharacters(in: .whitespaces)
            let labelText = line[line.index(after: space)...]
            guard let label = Int32(labelText), label >= 0, Int(label) < Dataset.maxClasses else {
                throw DataError.format(path: list, field: "\(field) label",
                                       expected: "a class index 0 to \(Dataset.maxClasses - 1)",
                                       found: "'\(labelText.prefix(40))'")
            }
            guard ImageFolder.extensions.contains((name as NSString).pathExtension.lowercased()) else {
                throw DataError.format(path: list, field: "\(field) image", expected: "a .png, .jpg or .jpeg file",
                                       found: "'\(name.prefix(80))'")
            }
            let path = name.hasPrefix("/") ? name : (root as NSString).appendingPathComponent(name)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw DataError.format(path: list, field: "\(field) image", expected: "a readable image under \(root)",
                                       found: "no file \(path)")
            }
            out.append((path, label))
        }
        guard !out.isEmpty else {
            throw DataError.format(path: list, field: "images", expected: "at least one line", found: "none")
        }
        return out
    }
}

extension Options {
    public var trainList: Option<String?> {
        Option("train-list", nil,
               "A list file of training images under --data, one 'relative/path.jpg LABEL' per line (ImageNet-LT, " +
               "Places-LT, iNaturalist); needs --test-list.", defaultText: "none", valueName: "file")
    }
    public var valList: Option<String?> {
        Option("val-list", nil,
               "A list file of validation images under --data: the validation split (val_*, --select-by), never " +
               "trained on.", defaultText: "none", valueName: "file")
    }
    public var testList: Option<String?> {
        Option("test-list", nil, "A list file of test images under --data; needs --train-list.",
               defaultText: "none", valueName: "file")
    }
}
