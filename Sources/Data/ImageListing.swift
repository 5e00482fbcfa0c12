import Foundation

/// What an image-folder or tar-shard layout holds: its splits as decoding work and its
/// classes' names (the class folders; for tar shards a `classes.txt` beside them, if any).
struct ImageListing {
    var train: ImageSource?
    var test: ImageSource
    /// The data's own validation split (`val/` beside `test/`, `--val-list`); not read for a trained model.
    var val: ImageSource?
    var classNames: [String]?

    /// The listing of `layout`; `knownNames` are the classes of a trained model, whose test
    /// folders are matched to them by name (the training folders are not read).
    init?(_ layout: DatasetLayout, knownNames: [String]? = nil) throws {
        switch layout {
        case .imageList(let root, let lists):
            func source(_ list: String, _ split: String) throws -> ImageSource {
                ImageSource(units: try ImageLists.read(list, root: root).map { .file(path: $0.path, label: $0.label) },
                            split: split)
            }
            if knownNames == nil, !lists.train.isEmpty {
                train = try source(lists.train, "training")
                val = try lists.val.map { try source($0, "validation") }
            }
            test = try source(lists.test, "test")
            classNames = knownNames
        case .imageFolder(let root, let trainDirectory, let testDirectory, let valDirectory):
            let names: [String]
            if let knownNames {
                names = knownNames
            } else {
                guard !trainDirectory.isEmpty else {
                    throw DataError.mismatch("\(testDirectory): the model names no classes, so its test folders " +
                                             "cannot be matched to its classes")
                }
                names = try ImageFolder.classes(root: root, train: trainDirectory)
            }
            if !trainDirectory.isEmpty, knownNames == nil {
                train = ImageSource(units: try ImageFolder.files(in: trainDirectory, classes: names, requireEvery: true)
                    .map { .file(path: $0.path, label: $0.label) }, split: "training")
            }
            let testFiles = try ImageFolder.files(in: testDirectory, classes: names, requireEvery: false)
            guard !testFiles.isEmpty else {
                throw DataError.format(path: testDirectory, field: "test images",
                                       expected: "at least one (test/CLASS/image.png)", found: "none")
            }
            test = ImageSource(units: testFiles.map { .file(path: $0.path, label: $0.label) }, split: "test")
            if let valDirectory, !trainDirectory.isEmpty, knownNames == nil {
                val = ImageSource(units: try ImageFolder.files(in: valDirectory, classes: names, requireEvery: false)
                    .map { .file(path: $0.path, label: $0.label) }, split: "validation")
            }
            classNames = names
        case .tarShards(let trainShards, let testShards):
            if knownNames == nil { train = ImageSource(units: trainShards.map { .shard(path: $0) }, split: "training") }
            test = ImageSource(units: testShards.map { .shard(path: $0) }, split: "test")
            let listed = ((trainShards.first ?? testShards[0]) as NSString).deletingLastPathComponent
            let file = ((listed.isEmpty ? "." : listed) as NSString).appendingPathComponent("classes.txt")
            if let knownNames {
                classNames = knownNames
            } else if FileManager.default.fileExists(atPath: file) {
                let text = String(decoding: try FileBytes.read(file), as: UTF8.self)
                classNames = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
            }
        case .idx, .cifar10, .cifar100, .npy:
            return nil
        }
    }

    /// The size and channels to decode to: what is given, the rest from the first training
    /// (else test) image.
    func target(channels: Int?, size: [Int]?) throws -> ImageTarget {
        if let channels,
            let size { return ImageTarget(channels: channels, height: size[0], width: size[size.count - 1],
                                          resize: true) }
        let first = try (train ?? test).firstImage()
        return ImageTarget(channels: channels ?? first.channels, height: size?[0] ?? first.height,
                           width: size.map { $0[$0.count - 1] } ?? first.width, resize: size != nil)
    }
}
