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
    /// The validation split taken out of the training set (`--val-split`), nil without one.
    public let val: Split?
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
    /// The training set's samples trained on, as indices into it in data order (ascending, over
    /// all ranks): what `subset.npy` records; empty for a data set loaded for evaluation only.
    public let trainIndices: [Int]
    /// Whether the evaluated images (test, validation, held-out) are resized to 8/7 and
    /// centre-cropped (`Split.centreCropped`), as for a model trained with resized crops.
    public let testCrop: Bool
    /// Training samples over all ranks.
    public var globalTrainCount: Int { counts.reduce(0, +) }

    init(train: Split, test: Split, classes: Int, classNames: [String]?, layout: DatasetLayout, sharded: Bool,
         originalCounts: [Int], counts: [Int], mean: [Float], std: [Float], unseenTest: Split? = nil,
         notes: [String] = [], val: Split? = nil, trainIndices: [Int] = [], testCrop: Bool = false) {
        self.trainIndices = trainIndices
        self.notes = notes
        self.testCrop = testCrop
        self.val = testCrop ? val?.centreCropped() : val
        self.unseenTest = testCrop ? unseenTest?.centreCropped() : unseenTest
        self.train = train
        self.test = testCrop ? test.centreCropped() : test
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
        let layout = try comm.agree { try DatasetLayout.detect(in: config.directory, lists: config.lists) }
        // Image folders and tar shards: decoded over the ranks (or read from the cache) first.
        let images = try loadImages(layout, config: config, known: nil, comm: comm)
        let read = try comm.agree { try readSplits(layout, images: images, comm: comm) }
        try comm.agree { try checkShapes(read, layout: layout) }
        let k = try classCount(read, config: config, comm: comm)
        let names = try comm.agree { () throws -> [String]? in
            for (_, split, file) in read.shards { try split.validateLabels(classes: k, file: file) }
            try read.test.validateLabels(classes: k, file: Self.testLabelFile(layout))
            if let listed = images?.names {
                guard listed.count == k else {
                    throw DataError.mismatch("\(config.directory): \(listed.count) class names listed, but " +
                                             "there are \(k) classes")
                }
                return listed
            }
            return try ClassNames.find(in: config.directory, layout: layout, classes: k)
        }
        let shardCounts = try classCounts(read, classes: k, comm: comm)
        let shardCount = read.sharded ? read.shardFiles.count : 1
        let original: [Int] = (0..<k).map { c in
            var total = 0
            for shard in 0..<shardCount { total += Int(shardCounts[shard * k + c]) }
            return total
        }

        // Long tail: the same selection whatever the number of ranks (see LongTail.keptPositions).
        // A validation split comes out of the training set, before or after the sub-sampling.
        if let given = images?.val, let split = config.validation {
            throw CollectiveFailure(rank: 0, message: "\(config.directory): the data has its own validation split " +
                                                      "(\(given.count) images of val/ or --val-list); --val-split " +
                                                      "\(split.text) would take another from the training set")
        }
        if config.validation != nil, read.sharded {
            throw CollectiveFailure(rank: 0, message: "--val-split draws from the whole training set, and " +
                                                      "sharded data is split over the ranks; use unsharded files")
        }
        let (targets, kept, valKept) = try selectTraining(config, original: original, read: read,
                                                          shardCounts: shardCounts, seed: seed, comm: comm)
        var train = try keep(kept, of: read, shardCounts: shardCounts, classes: k,
                             whole: config.imbalanceRatio == 1 && valKept == nil && config.subset == nil)
        let trainIndices = try indices(of: kept, read: read, shardCounts: shardCounts,
                                       excluded: Set(config.holdout), comm: comm)
        var val = try valKept.map { try keep($0, of: read, shardCounts: shardCounts, classes: k, whole: false) }
            ?? images?.val
        if let given = images?.val {
            try comm.agree { try given.validateLabels(classes: k, file: Self.valImageFile(layout)) }
        }

        // Classes held out of training: the long-tail profile is drawn over all classes, then
        // the held-out ones leave the training set; their test images are kept apart.
        let testSplit = read.test, sharded = read.sharded
        let testCrop = Augmentation.testCrop(cropAndFlip: config.augment, height: testSplit.height,
                                             width: testSplit.width)
        if !config.holdout.isEmpty {
            let holdout = try comm.agree { try Holdout(config.holdout, total: k) }
            train = holdout.seenPart(train)
            val = val.map(holdout.seenPart)
            let (mean, std) = try Normalization.values(config.normalization, of: train, sharded: sharded, comm: comm)
            return Dataset(train: train, test: holdout.seenPart(testSplit), classes: holdout.seen.count,
                           classNames: names.map(holdout.seenValues), layout: layout, sharded: sharded,
                           originalCounts: holdout.seenValues(original), counts: holdout.seenValues(targets),
                           mean: mean, std: std,
                           unseenTest: holdout.heldOutPart(testSplit), notes: images?.notes ?? [], val: val,
                           trainIndices: trainIndices, testCrop: testCrop)
        }
        let (mean, std) = try Normalization.values(config.normalization, of: train, sharded: sharded, comm: comm)
        return Dataset(train: train, test: testSplit, classes: k, classNames: names, layout: layout, sharded: sharded,
                       originalCounts: original, counts: targets, mean: mean, std: std, notes: images?.notes ?? [],
                       val: val, trainIndices: trainIndices, testCrop: testCrop)
    }

    /// An image folder's or tar shards' splits decoded to the configured (or the model's,
    /// `known`) size and channels, with their class names; nil for the other layouts. The
    /// training split is left out when `known` is given.
    static func loadImages(_ layout: DatasetLayout, config: DataConfig, known: DataStatistics?, comm: Communicator)
        throws -> DecodedImages? {
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
        notes.append(note)
        var val: Split?
        if let source = listing.val {
            let (split, note) = try ImageSet.load(source, target: target, cache: config.cache, comm: comm)
            val = split
            notes.append(note)
        }
        return (train, test, listing.classNames, notes, val)
    }

    /// The test set of `config.directory` alone, with the classes, normalisation and training
    /// counts a model was trained with (collective): what `eval` and `explain` need of a model
    /// that carries its `DataStatistics`. The training files are not read.
    public static func load(_ config: DataConfig, known: DataStatistics, comm: Communicator) throws -> Dataset {
        let layout = try comm.agree { try DatasetLayout.detectTest(in: config.directory, lists: config.lists) }
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
                       notes: images?.notes ?? [], testCrop: known.testCrop ?? false)
    }

    static func readTest(_ layout: DatasetLayout) throws -> Split {
        switch layout {
        case .idx(_, _, let images, let labels): return try IDXReader.split(images: images, labels: labels)
        case .cifar10(_, let test): return try CIFARReader.split(test, labelBytes: 1)
        case .cifar100(_, let test): return try CIFARReader.split(test, labelBytes: 2)
        case .npy(_, let images, let labels, _): return try NPYReader.split(images: images, labels: labels)
        case .imageFolder, .imageList,
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
                       mean: mean, std: std, trainCounts: trainCounts ?? counts, testCrop: testCrop ? true : nil)
    }

    /// Largest class count: per-class arrays and the classes² confusion matrix must fit.
    public static let maxClasses = 10_000
}
