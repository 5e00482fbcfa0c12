import Foundation

/// torchvision's ImageFolder layout: `ROOT/train/CLASS/*.{png,jpg,jpeg}` and
/// `ROOT/test/CLASS/...` (or `ROOT/val/`). Classes are the training folders' names in code-point
/// order, as Python's `sorted` gives them, unless `ROOT/classes.txt` lists the folder names in
/// label order. Within a split, files are in natural order of their names (digit runs compare
/// as numbers, then the class), so a set written with numbered names trains in that order.
public enum ImageFolder {
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// The training and test folders of `root`, if it has both, and its validation folder: `val/`
    /// beside `test/` is the validation split; `val/` alone is the test set.
    static func splits(of root: String) -> (train: String, test: String, val: String?)? {
        func dir(_ name: String) -> String? {
            let p = (root as NSString).appendingPathComponent(name)
            return isDirectory(p) ? p : nil
        }
        guard let train = dir("train") else { return nil }
        if let test = dir("test") { return (train, test, dir("val")) }
        return dir("val").map { (train, $0, nil) }
    }

    /// Sub-folders of `directory`, hidden ones left out.
    static func folders(in directory: String) throws -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else {
            throw DataError.format(path: directory, field: "folder", expected: "a readable directory",
                                   found: "no access")
        }
        return names.filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: (directory as NSString).appendingPathComponent(name),
                                                         isDirectory: &isDir)
                && isDir.boolValue
        }.sorted(by: codePointOrder)
    }

    /// The class folder names in label order (see the type's comment).
    public static func classes(root: String, train: String) throws -> [String] {
        let found = try folders(in: train)
        guard !found.isEmpty else {
            throw DataError.format(path: train, field: "class folders",
                                   expected: "one folder per class (train/CLASS/image.png)", found: "none")
        }
        let listed = (root as NSString).appendingPathComponent("classes.txt")
        guard FileManager.default.fileExists(atPath: listed) else { return found }
        let names = try ClassNames.read(listed, classes: found.count)
        if let missing = names.first(where: { !found.contains($0) }) {
            throw DataError.format(path: listed, field: "class \"\(missing)\"",
                                   expected: "a folder of that name in \(train)", found: "none")
        }
        return names
    }

    /// The image files of one split (`directory`/CLASS/...) with their labels, in natural
    /// name order. Every class folder must name a class; with `requireEvery`, every class
    /// needs at least one image (training).
    public static func files(in directory: String, classes: [String],
                             requireEvery: Bool) throws -> [(path: String, label: Int32)] {
        let label = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
        var entries: [(name: String, path: String, label: Int32)] = []
        for folder in try folders(in: directory) {
            let path = (directory as NSString).appendingPathComponent(folder)
            guard let y = label[folder] else {
                throw DataError.format(path: path, field: "class folder",
                                       expected: "one of the training classes (\(classes.joined(separator: ", ")))",
                                       found: "a class the training set does not have")
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            var any = false
            for name in names where !name.hasPrefix(".") {
                let file = (path as NSString).appendingPathComponent(name)
                guard extensions.contains((name as NSString).pathExtension.lowercased()) else {
                    throw DataError.format(path: file, field: "file name",
                                           expected: "an image ending in .png, .jpg or .jpeg", found: "another file")
                }
                entries.append((name, file, y))
                any = true
            }
            if requireEvery, !any {
                throw DataError.format(path: path, field: "class \"\(folder)\"", expected: "at least one image",
                                       found: "an empty folder")
            }
        }
        if requireEvery, let empty = classes.first(where: { c in !entries.contains { $0.label == label[c] } }) {
            throw DataError.format(path: (directory as NSString).appendingPathComponent(empty),
                                   field: "class \"\(empty)\"",
                                   expected: "a folder with at least one image", found: "none")
        }
        entries.sort { a, b in
            let order = NaturalOrder.compare(a.name, b.name)
            return order != 0 ? order < 0 : a.label < b.label
        }
        return entries.map { ($0.path, $0.label) }
    }

    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }
}

/// Natural order of names: runs of digits compare as numbers (`img2` before `img10`), the rest
/// by code point; names equal that way fall back to plain code-point order.
public enum NaturalOrder {
    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    public static func compare(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var i = 0, j = 0
        while i < x.count, j < y.count {
            if x[i].properties.numericType == .decimal, y[j].properties.numericType == .decimal, x[i].isASCII,
                y[j].isASCII {
                var i2 = i, j2 = j
                while i2 < x.count, x[i2].isASCII, x[i2].properties.numericType == .decimal { i2 += 1 }
                while j2 < y.count, y[j2].isASCII, y[j2].properties.numericType == .decimal { j2 += 1 }
                let u = x[i..<i2].drop { $0 == "0" }, v = y[j..<j2].drop { $0 == "0" }
                if u.count != v.count { return u.count < v.count ? -1 : 1 }
                for (p, q) in zip(u, v) where p != q { return p.value < q.value ? -1 : 1 }
                i = i2
                j = j2
            } else {
                if x[i] != y[j] { return x[i].value < y[j].value ? -1 : 1 }
                i += 1
                j += 1
            }
        }
        if x.count - i != y.count - j { return x.count - i < y.count - j ? -1 : 1 }
        if a == b { return 0 }
        return ImageFolder.codePointOrder(a, b) ? -1 : 1
    }
}
