import Distributed
import Foundation
import Tensor

/// A loaded, long-tailed data set as one rank holds it.
///
/// Without sharding every rank holds the whole training set and the sampler
/// splits each epoch; with sharded NumPy input (`train_images-00000.npy`, ...)
/// rank r holds the shards i with i mod W = r, and statistics exist only as
/// sums over ranks.
public final class Dataset {
    /// This rank's training samples after sub-sampling (all of them when not sharded).
    public let train: Split
    /// The test set, as given (every rank holds it; evaluation is sharded).
    public let test: Split
    /// The test images of the classes held out of training (`--holdout-classes`), renumbered
    /// 0..<held-out count; nil without a holdout. `test` then holds the seen classes' images.
    public let unseenTest: Split?
    public let classes: Int
    /// The classes' names when the data directory says them (`ClassNames`).
    public let classNames: [String]?
    /// What loading did that the log should say (image sets decoded or read from the cache).
    public let notes: [String]
    public let layout: DatasetLayout
    public let sharded: Bool
    /// Global class sizes of the training set before and after sub-sampling.
    public let originalCounts: [Int]
    public let counts: [Int]
    /// Per-channel mean and standard deviation of the (sub-sampled) training images.
    public let mean: [Float]
    public let std: [Float]
    /// Training samples over all ranks.
    public var globalTrainCount: Int { counts.reduce(0, +) }

    init(train: Split, test: Split, classes: Int, classNames: [String]?, layout: DatasetLayout, sharded: Bool,
         originalCounts: [Int], counts: [Int], mean: [Float], std: [Float], unseenTest: Split? = nil,
             notes: [String] = []) {
        self.notes = notes
        self.unseenTest = unseenTest
        self.train = train
        self.test = test
        self.classes = classes
        self.classNames = classNames
        self.layout = layout
        self.sharded = sharded
        self.originalCounts = originalCounts
        self.counts = counts
        self.mean = mean
        self.std = std
    }

    /// Loads `config.directory` on every rank (collective), sub-samples the training set to the
    /// long-tail profile with `seed`, and computes the normalisation. Errors on any rank become a
    /// `CollectiveFailure` on every rank.
    public static func load(_ config: DataConfig, seed: UInt64, comm: Communicator) throws -> Dataset {
        let layout = try comm.agree { try DatasetLayout.detect(in: config.directory) }
        var sharded = false
        var shardFiles: [(images: String, labels: String)] = []
        let testSplit: Split
        var defaultClasses: Int?
        // Each entry: (shard index, split, file for label errors).
        var myShards: [(Int, Split, String)] = []
        // Image folders and tar shards: decoded over the ranks (or read from the cache) first.
        let images = try loadImages(layout, config: config, known: nil, comm: comm)

        let (loadedShards, loadedTest) = try comm.agree { () throws -> ([(Int, Split, String)], Split) in
            switch layout {
            case .idx(let ti, let tl, _, _):
                defaultClasses = 10
                return ([(0, try IDXReader.split(images: ti, labels: tl), tl)], try readTest(layout))
            case .cifar10(let batches, _):
                defaultClasses = 10
                var train = try CIFARReader.split(batches[0], labelBytes: 1)
                for b in batches.dropFirst() { try train.append(CIFARReader.split(b, labelBytes: 1)) }
                return ([(0, train, batches.joined(separator: ", "))], try readTest(layout))
            case .cifar100(let train, _):
                defaultClasses = 100
                return ([(0, try CIFARReader.split(train, labelBytes: 2), train)], try readTest(layout))
            case .npy(let shards, _, _, let isSharded):
                sharded = isSharded
                shardFiles = shards
                let mine = isSharded ? shards.indices.filter { $0 % comm.size == comm.rank } : Array(shards.indices)
                let loaded = try mine.map { ($0,
                                             try NPYReader.split(images: shards[$0].images, labels: shards[$0].labels),
                                             shards[$0].labels) }
                return (loaded, try readTest(layout))
            case .imageFolder, .tarShards:
                defaultClasses = images!.names?.count
                return ([(0, images!.train!, Self.trainImageFile(layout, shard: 0))], images!.test)
            }
        }
        myShards = loadedShards
        testSplit = loadedTest
        // Shapes and sizes before anything is built on them: a test set to evaluate on, training
        // images of the test images' shape, at least one pixel.
        try comm.agree {
            try checkTest(testSplit, layout: layout)
            for (index, split, _) in myShards
            where (split.channels, split.height, split.width) != (testSplit.channels, testSplit.height,
                                                                  testSplit.width) {
                throw DataError.mismatch("""
                    training images (\(Self.trainImageFile(layout, shard: index))) are \
                    \(split.channels) x \(split.height) x \(split.width) but test images \
                    (\(Self.testImageFile(layout))) are \
                    \(testSplit.channels) x \(testSplit.height) x \(testSplit.width); \
                    expected the same shape
                    """)
            }
        }
        let shardCount = sharded ? shardFiles.count : 1

        // Number of classes: given, from the format, or (NumPy) the largest label + 1 over all ranks.
        var classes = config.classes ?? defaultClasses ?? 0
        if classes == 0 {
            var top: [Int64] = [Int64(myShards.flatMap { $0.1.labels }.max() ?? -1)]
            if sharded { try comm.allReduceMax(&top) }
            classes = max(Int(top[0]) + 1, Int(testSplit.labels.max() ?? 0) + 1)
        }
        guard classes >= 2, classes <= Self.maxClasses else {
            let source = config.classes != nil ? "--classes" : "the largest label (\(classes - 1)) + 1"
            throw CollectiveFailure(rank: 0,
                                    message: "\(config.directory): \(source) gives \(classes) classes; expected " +
                                             "2...\(Self.maxClasses)")
        }
        let k = classes
        let names = try comm.agree { () throws -> [String]? in
            for (_, split, file) in myShards { try split.validateLabels(classes: k, file: file) }
            try testSplit.validateLabels(classes: k, file: Self.testLabelFile(layout))
            if let listed = images?.names {
                guard listed.count == k else {
                    throw DataError.mismatch("\(config.directory): \(listed.count) class names listed, but " +
                                             "there are \(k) classes")
                }
                return listed
            }
            return try ClassNames.find(in: config.directory, layout: layout, classes: k)
        }

        // Per-shard class counts, summed over ranks (each rank fills its own shards' rows).
        var shardCounts = [Int64](repeating: 0, count: shardCount * k)
        for (index, split, _) in myShards {
            let row = sharded ? index : 0
            for y in split.labels { shardCounts[row * k + Int(y)] += 1 }
        }
        if sharded { try comm.allReduceSum(&shardCounts) }
        let original = (0..<k).map { c in (0..<shardCount).reduce(0) { $0 + Int(shardCounts[$1 * k + c]) } }

        // Long tail: the same selection whatever the number of ranks (see LongTail.keptPositions).
        let (targets, kept) = try LongTail.select(original: original, ratio: config.imbalanceRatio,
                                                   profile: config.imbalanceProfile, seed: seed)
        var position = (0..<k).map { _ in 0 }
        var selected: Split?
        for (index, split, _) in myShards {
            // Class positions of this shard's samples start after the earlier shards' samples of that class.
            for c in 0..<k {
                position[c] = (0..<(sharded ? index : 0)).reduce(0) { $0 + Int(shardCounts[$1 * k + c]) }
            }
            var indices: [Int] = []
            for (i, y) in split.labels.enumerated() {
                let c = Int(y)
                if kept[c][position[c]] { indices.append(i) }
                position[c] += 1
            }
            let part = config.imbalanceRatio == 1 ? split : split.subset(indices)
            if selected == nil { selected = part } else { try selected!.append(part) }
        }
        var train = selected ?? Split(pixels: .bytes([]), labels: [], channels: testSplit.channels,
                                      height: testSplit.height, width: testSplit.width)

        // Classes held out of training: the long-tail profile is drawn over all classes, then
        // the held-out ones leave the training set; their test images are kept apart.
        if !config.holdout.isEmpty {
            let holdout = try comm.agree { try Holdout(config.holdout, total: k) }
            train = holdout.seenPart(train)
            let (mean, std) = try Normalization.statistics(of: train, sharded: sharded, comm: comm)
            return Dataset(train: train, test: holdout.seenPart(testSplit), classes: holdout.seen.count,
                           classNames: names.map(holdout.seenValues), layout: layout, sharded: sharded,
                           originalCounts: holdout.seenValues(original), counts: holdout.seenValues(targets),
                               mean: mean, std: std,
                           unseenTest: holdout.heldOutPart(testSplit), notes: images?.notes ?? [])
        }
        let (mean, std) = try Normalization.statistics(of: train, sharded: sharded, comm: comm)
        return Dataset(train: train, test: testSplit, classes: k, classNames: names, layout: layout, sharded: sharded,
                       originalCounts: original, counts: targets, mean: mean, std: std, notes: images?.notes ?? [])
    }

    /// An image folder's or tar shards' splits decoded to the configured (or the model's,
    /// `known`) size and channels, with their class names; nil for the other layouts. The
    /// training split is left out when `known` is given.
    static func loadImages(_ layout: DatasetLayout, config: DataConfig, known: DataStatistics?, comm: Communicator)
        throws -> (train: Split?, test: Split, names: [String]?, notes: [String])? {
        guard let listing = try comm.agree({ try ImageListing(layout,
                                                              knownNames: known.map { $0.classNames
                                                              ?? [] }) }) else { return nil }
        let shape = known?.inputShape
        let target = try comm.agree {
            try listing.target(channels: shape.map { $0[0] } ?? config.channels,
                               size: shape.map { Array($0[1...]) } ?? config.imageSize)
        }
        var notes: [String] = []
        var train: Split?
        if let source = listing.train {
            let (split, note) = try ImageSet.load(source, target: target, cache: config.cache, comm: comm)
            train = split
            notes.append(note)
        }
        let (test, note) = try ImageSet.load(listing.test, target: target, cache: config.cache, comm: comm)
        return (train, test, listing.classNames, notes + [note])
    }

    /// The test set of `config.directory` alone, with the classes, normalisation and training
    /// counts a model was trained with (collective): what `eval` and `explain` need of a model
    /// that carries its `DataStatistics`. The training files are not read.
    public static func load(_ config: DataConfig, known: DataStatistics, comm: Communicator) throws -> Dataset {
        let layout = try comm.agree { try DatasetLayout.detectTest(in: config.directory) }
        let images = try loadImages(layout, config: config, known: known, comm: comm)
        let test = try comm.agree { () throws -> Split in
            let test = try images?.test ?? readTest(layout)
            try checkTest(test, layout: layout)
            if let problem = known.problem(describing: test) {
                throw DataError.mismatch("\(config.directory): the model's data statistics do not fit its " +
                                         "test images: \(problem)")
            }
            // With a holdout the model knows the seen classes; the test labels span all of them.
            try test.validateLabels(classes: known.classes + config.holdout.count, file: Self.testLabelFile(layout))
            return test
        }
        let empty = Split(pixels: .bytes([]), labels: [], channels: test.channels, height: test.height,
                          width: test.width)
        var seenTest = test, unseen: Split?
        if !config.holdout.isEmpty {
            let holdout = try comm.agree { try Holdout(config.holdout, total: known.classes + config.holdout.count) }
            seenTest = holdout.seenPart(test)
            unseen = holdout.heldOutPart(test)
        }
        return Dataset(train: empty, test: seenTest, classes: known.classes, classNames: known.classNames,
                       layout: layout, sharded: false,
                       originalCounts: known.trainCounts, counts: known.trainCounts, mean: known.mean, std: known.std,
                           unseenTest: unseen,
                       notes: images?.notes ?? [])
    }

    static func readTest(_ layout: DatasetLayout) throws -> Split {
        switch layout {
        case .idx(_, _, let images, let labels): return try IDXReader.split(images: images, labels: labels)
        case .cifar10(_, let test): return try CIFARReader.split(test, labelBytes: 1)
        case .cifar100(_, let test): return try CIFARReader.split(test, labelBytes: 2)
        case .npy(_, let images, let labels, _): return try NPYReader.split(images: images, labels: labels)
        case .imageFolder,
            .tarShards: throw DataError.mismatch("image sets are decoded over the ranks (Dataset.loadImages)")
        }
    }

    /// A test set to evaluate on: at least one image of at least one pixel.
    static func checkTest(_ test: Split, layout: DatasetLayout) throws {
        guard test.count > 0 else {
            throw DataError.format(path: testImageFile(layout), field: "test images", expected: "at least one",
                                   found: "none")
        }
        guard test.channels >= 1, test.height >= 1, test.width >= 1 else {
            throw DataError.format(path: testImageFile(layout), field: "image shape", expected: "at least 1 x 1 x 1",
                                   found: "\(test.channels) x \(test.height) x \(test.width)")
        }
    }

    /// The statistics a model trained on this data carries, with the class sizes it trained with.
    public func statistics(trainCounts: [Int]? = nil) -> DataStatistics {
        DataStatistics(inputShape: [test.channels, test.height, test.width], classes: classes, classNames: classNames,
                       mean: mean, std: std, trainCounts: trainCounts ?? counts)
    }

    /// Largest class count: per-class arrays and the classes² confusion matrix must fit.
    public static let maxClasses = 10_000
}
