import Foundation

/// Which file layout a `--data` directory holds, recognised from its files.
public enum DatasetLayout: Equatable, Sendable {
    /// MNIST-style IDX files, each raw or gzip-compressed (the path of each of the four).
    case idx(trainImages: String, trainLabels: String, testImages: String, testLabels: String)
    /// CIFAR-10 binary batches (`data_batch_1..5.bin`, `test_batch.bin`).
    case cifar10(train: [String], test: String)
    /// CIFAR-100 binary (`train.bin`, `test.bin`; fine labels).
    case cifar100(train: String, test: String)
    /// NumPy arrays; `trainShards` holds (images, labels) pairs, one pair when not sharded.
    case npy(trainShards: [(images: String, labels: String)], testImages: String, testLabels: String, sharded: Bool)
    /// torchvision's ImageFolder: `root/train/CLASS/*.png|jpg`, `root/test/...` or `root/val/...`
    /// (`train` is empty when only the test folder is there); with both `test/` and `val/`,
    /// `val` is the validation split.
    case imageFolder(root: String, train: String, test: String, val: String?)
    /// Images under `root` named by list files (`ImageLists`; `lists.train` empty for a test set alone).
    case imageList(root: String, lists: ImageLists)
    /// WebDataset tar shards (`KEY.png|jpg` + `KEY.cls`): the training shards `--data` names and
    /// the test shards beside them (`test*.tar`, else `val*.tar`).
    case tarShards(train: [String], test: [String])

    /// The default data set: Debian's `dataset-fashion-mnist`.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// A short name for logs and reports.
    public var name: String {
        switch self {
        case .idx: return "idx"
        case .cifar10: return "cifar10"
        case .cifar100: return "cifar100"
        case .npy(_, _, _, let sharded): return sharded ? "npy-sharded" : "npy"
        case .imageFolder: return "image-folder"
        case .imageList: return "image-list"
        case .tarShards: return "tar-shards"
        }
    }

    public static func == (a: DatasetLayout, b: DatasetLayout) -> Bool {
        switch (a, b) {
        case let (.idx(a1, a2, a3, a4), .idx(b1, b2, b3, b4)): return [a1, a2, a3, a4] == [b1, b2, b3, b4]
        case let (.cifar10(a1, a2), .cifar10(b1, b2)): return a1 == b1 && a2 == b2
        case let (.cifar100(a1, a2), .cifar100(b1, b2)): return a1 == b1 && a2 == b2
        case let (.npy(a1, a2, a3, a4), .npy(b1, b2, b3, b4)):
            return a1.map { [$0.images, $0.labels] } == b1.map { [$0.images,
                                                                  $0.labels] } && a2 == b2 && a3 == b3 && a4 == b4
        case let (.imageFolder(a1, a2, a3, a4), .imageFolder(b1, b2, b3, b4)):
            return [a1, a2, a3] == [b1, b2, b3] && a4 == b4
        case let (.imageList(a1, a2), .imageList(b1, b2)): return a1 == b1 && a2 == b2
        case let (.tarShards(a1, a2), .tarShards(b1, b2)): return a1 == b1 && a2 == b2
        default: return false
        }
    }

    /// Recognises the layout of `directory`, or throws a `DataError` listing what was looked for.
    public static func detect(in directory: String, lists: ImageLists? = nil) throws -> DatasetLayout {
        if let lists {
            guard !lists.train.isEmpty, !lists.test.isEmpty else {
                throw DataError.missing(path: lists.train.isEmpty ? "--train-list" : "--test-list",
                                        hint: "list files name a data set's training and test images together")
            }
            guard ImageFolder.isDirectory(directory) else {
                throw DataError.missing(path: directory, hint: "--train-list and --test-list name images under " +
                                                               "--data, which must be a directory")
            }
            return .imageList(root: directory, lists: lists)
        }
        if let shards = try tarShards(directory) { return shards }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: directory, isDirectory: &isDir)
        if exists, !isDir.boolValue {
            throw DataError.format(path: directory, field: "--data", expected: "a directory holding a data set",
                                   found: "a file")
        }
        guard exists else {
            throw DataError.missing(path: directory, hint: directory == defaultDirectory
                ? "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data DIR"
                : "pass --data with a directory that exists")
        }
        let files = Set((try? fm.contentsOfDirectory(atPath: directory)) ?? [])
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        func either(_ base: String) -> String? {
            if files.contains(base) { return path(base) }
            if files.contains(base + ".gz") { return path(base + ".gz") }
            return nil
        }

        if let a = either("train-images-idx3-ubyte"), let b = either("train-labels-idx1-ubyte"),
           let c = either("t10k-images-idx3-ubyte"), let d = either("t10k-labels-idx1-ubyte") {
            return .idx(trainImages: a, trainLabels: b, testImages: c, testLabels: d)
        }
        let batches = (1...5).map { "data_batch_\($0).bin" }
        if batches.allSatisfy(files.contains), files.contains("test_batch.bin") {
            return .cifar10(train: batches.map(path), test: path("test_batch.bin"))
        }
        if files.contains("train.bin"), files.contains("test.bin") {
            return .cifar100(train: path("train.bin"), test: path("test.bin"))
        }
        if files.contains("test_images.npy"), files.contains("test_labels.npy") {
            if files.contains("train_images.npy"), files.contains("train_labels.npy") {
                return .npy(trainShards: [(path("train_images.npy"), path("train_labels.npy"))],
                            testImages: path("test_images.npy"), testLabels: path("test_labels.npy"), sharded: false)
            }
            var shards: [(String, String)] = []
            while true {
                let index = String(format: "%05d", shards.count)
                let images = "train_images-\(index).npy", labels = "train_labels-\(index).npy"
                guard files.contains(images) else { break }
                guard files.contains(labels) else {
                    throw DataError.missing(path: path(labels),
                                            hint: "every train_images-NNNNN.npy needs its train_labels-NNNNN.npy")
                }
                shards.append((path(images), path(labels)))
            }
            // Every shard file must belong to the run of shards 0, 1, 2, ...: a gap would leave
            // the shards after it unread.
            let used = Set(shards.flatMap { [$0.0, $0.1] })
            let stray = files.filter { name in
                (name.hasPrefix("train_images-") || name.hasPrefix("train_labels-")) && name.hasSuffix(".npy")
                    && !used.contains(path(name))
            }.sorted()
            if let first = stray.first {
                throw DataError.format(path: path(first), field: "shard number",
                                       expected: "shards numbered 00000 to " +
                                                 "\(String(format: "%05d", max(shards.count - 1, 0))) without gaps " +
                                                 "(found \(shards.count) in a row)",
                                       found: "a shard after a gap")
            }
            if !shards.isEmpty {
                return .npy(trainShards: shards, testImages: path("test_images.npy"),
                            testLabels: path("test_labels.npy"), sharded: true)
            }
        }
        if let (train, test, val) = ImageFolder.splits(of: directory) {
            return .imageFolder(root: directory, train: train, test: test, val: val)
        }
        let tars = files.filter { $0.hasPrefix("train") && isTar($0) }.sorted { NaturalOrder.compare($0, $1) < 0 }
        if !tars.isEmpty { return .tarShards(train: tars.map(path), test: try testShards(beside: tars.map(path)[0])) }
        throw DataError.unrecognised(directory: directory)
    }

    static func isTar(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".tar") || lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz")
    }

    /// `--data` as tar shards: a pattern (`train-{00000..00099}.tar`) or one `.tar` file; nil
    /// for anything else.
    static func tarShards(_ pattern: String) throws -> DatasetLayout? {
        guard pattern.contains("{") || isTar(pattern) else { return nil }
        let train = try ShardPattern.expand(pattern)
        for shard in train where !FileManager.default.fileExists(atPath: shard) {
            throw DataError.missing(path: shard,
                                    hint: "--data \(pattern) names \(train.count) shard(s); each must exist")
        }
        return .tarShards(train: train, test: try testShards(beside: train[0]))
    }

    /// The test shards in the directory of `shard`: `test*.tar` (or .tar.gz), else `val*.tar`.
    static func testShards(beside shard: String) throws -> [String] {
        let directory = (shard as NSString).deletingLastPathComponent
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for prefix in ["test", "val"] {
            let found = files.filter { $0.hasPrefix(prefix) && isTar($0) }.sorted { NaturalOrder.compare($0, $1) < 0 }
            if !found.isEmpty { return found.map { (directory as NSString).appendingPathComponent($0) } }
        }
        throw DataError.missing(path: (directory as NSString).appendingPathComponent("test-00000.tar"),
                                hint: "tar shards need their test set beside them: test-*.tar (or val-*.tar) in " +
                                      "\(directory.isEmpty ? "." : directory)")
    }

    /// The layout of a directory for its test set alone (evaluating a model that carries its
    /// `DataStatistics`): a whole data set, or only its test files (training paths left empty).
    public static func detectTest(in directory: String, lists: ImageLists? = nil) throws -> DatasetLayout {
        if let lists, !lists.test.isEmpty {
            guard ImageFolder.isDirectory(directory) else {
                throw DataError.missing(path: directory, hint: "--test-list names images under --data, which must " +
                                                               "be a directory")
            }
            return .imageList(root: directory, lists: ImageLists(train: "", test: lists.test))
        }
        do {
            return try detect(in: directory)
        } catch DataError.unrecognised {
            let files = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
            func either(_ base: String) -> String? {
                files.contains(base) ? path(base) : files.contains(base + ".gz") ? path(base + ".gz") : nil
            }
            if let images = either("t10k-images-idx3-ubyte"), let labels = either("t10k-labels-idx1-ubyte") {
                return .idx(trainImages: "", trainLabels: "", testImages: images, testLabels: labels)
            }
            if files.contains("test_batch.bin") { return .cifar10(train: [], test: path("test_batch.bin")) }
            if files.contains("test.bin") { return .cifar100(train: "", test: path("test.bin")) }
            if files.contains("test_images.npy"), files.contains("test_labels.npy") {
                return .npy(trainShards: [], testImages: path("test_images.npy"), testLabels: path("test_labels.npy"),
                            sharded: false)
            }
            for name in ["test", "val"] where ImageFolder.isDirectory(path(name)) {
                return .imageFolder(root: directory, train: "", test: path(name), val: nil)
            }
            throw DataError.unrecognised(directory: directory)
        }
    }
}
