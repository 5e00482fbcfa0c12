import Distributed
import Foundation

/// The steps of `Dataset.load` before the long-tail selection: the layout's splits as this rank
/// reads them, their shapes checked, the number of classes, each shard's class counts; and the
/// selection's result as one training split.
extension Dataset {
    /// An image folder's or tar shards' decoded splits (`loadImages`).
    typealias DecodedImages = (train: Split?, test: Split, names: [String]?, notes: [String], val: Split?)

    /// What this rank read: its training shards (index, split, file for label errors), the test
    /// split, and what the format says.
    struct ReadSplits {
        var shards: [(Int, Split, String)]
        var test: Split
        /// The format's number of classes (10 for IDX and CIFAR-10, ...), nil where labels decide.
        var defaultClasses: Int?
        var sharded = false
        var shardFiles: [(images: String, labels: String)] = []
    }

    /// The training shards this rank holds (all of them unless the NumPy files are sharded) and the test split.
    static func readSplits(_ layout: DatasetLayout, images: DecodedImages?, comm: Communicator) throws -> ReadSplits {
        switch layout {
        case .idx(let ti, let tl, _, _):
            return ReadSplits(shards: [(0, try IDXReader.split(images: ti, labels: tl), tl)],
                              test: try readTest(layout),
                              defaultClasses: 10)
        case .cifar10(let batches, _):
            var train = try CIFARReader.split(batches[0], labelBytes: 1)
            for b in batches.dropFirst() { try train.append(CIFARReader.split(b, labelBytes: 1)) }
            return ReadSplits(shards: [(0, train, batches.joined(separator: ", "))], test: try readTest(layout),
                              defaultClasses: 10)
        case .cifar100(let train, _):
            return ReadSplits(shards: [(0, try CIFARReader.split(train, labelBytes: 2), train)],
                              test: try readTest(layout),
                              defaultClasses: 100)
        case .npy(let shards, _, _, let isSharded):
            let mine = isSharded ? shards.indices.filter { $0 % comm.size == comm.rank } : Array(shards.indices)
            let loaded = try mine.map { ($0, try NPYReader.split(images: shards[$0].images, labels: shards[$0].labels),
                                         shards[$0].labels) }
            return ReadSplits(shards: loaded, test: try readTest(layout), defaultClasses: nil, sharded: isSharded,
                              shardFiles: shards)
        case .imageFolder, .imageList, .tarShards:
            // A list's classes are its training labels' (test labels beyond them are an error).
            var listed: Int?
            if case .imageList = layout { listed = images!.train!.labels.max().map { Int($0) + 1 } }
            return ReadSplits(shards: [(0, images!.train!, Self.trainImageFile(layout, shard: 0))], test: images!.test,
                              defaultClasses: images!.names?.count ?? listed)
        }
    }

    /// Shapes and sizes before anything is built on them: a test set to evaluate on, training
    /// images of the test images' shape, at least one pixel.
    static func checkShapes(_ read: ReadSplits, layout: DatasetLayout) throws {
        let test = read.test
        try checkTest(test, layout: layout)
        for (index, split, _) in read.shards where (split.channels, split.height, split.width) != (test.channels,
            test.height, test.width) {
            throw DataError.mismatch("""
                training images (\(Self.trainImageFile(layout, shard: index))) are \
                \(split.channels) x \(split.height) x \(split.width) but test images \
                (\(Self.testImageFile(layout))) are \(test.channels) x \(test.height) x \(test.width); \
                expected the same shape
                """)
        }
    }

    /// The number of classes: given, from the format, or (NumPy) the largest label + 1 over all ranks.
    static func classCount(_ read: ReadSplits, config: DataConfig, comm: Communicator) throws -> Int {
        var classes = config.classes ?? read.defaultClasses ?? 0
        if classes == 0 {
            var top: [Int64] = [Int64(read.shards.flatMap { $0.1.labels }.max() ?? -1)]
            if read.sharded { try comm.allReduceMax(&top) }
            classes = max(Int(top[0]) + 1, Int(read.test.labels.max() ?? 0) + 1)
        }
        guard classes >= 2, classes <= Self.maxClasses else {
            let source = config.classes != nil ? "--classes" : "the largest label (\(classes - 1)) + 1"
            throw CollectiveFailure(rank: 0,
                                    message: "\(config.directory): \(source) gives \(classes) classes; expected " +
                                                      "2...\(Self.maxClasses)")
        }
        return classes
    }

    /// Per-shard class counts (shards x classes), summed over ranks (each rank fills its own shards' rows).
    static func classCounts(_ read: ReadSplits, classes k: Int, comm: Communicator) throws -> [Int64] {
        var counts = [Int64](repeating: 0, count: (read.sharded ? read.shardFiles.count : 1) * k)
        for (index, split, _) in read.shards {
            let row = read.sharded ? index : 0
            for y in split.labels { counts[row * k + Int(y)] += 1 }
        }
        if read.sharded { try comm.allReduceSum(&counts) }
        return counts
    }

    /// This rank's training samples that `kept` keeps: a sample's position in its class counts the
    /// earlier shards' samples of that class, so the selection does not depend on the ranks.
    /// - whole: every sample is kept (no sub-sampling, no validation split): the split as read
    static func keep(_ kept: [[Bool]], of read: ReadSplits, shardCounts: [Int64], classes k: Int,
                     whole: Bool) throws -> Split {
        var position = (0..<k).map { _ in 0 }
        var selected: Split?
        for (index, split, _) in read.shards {
            for c in 0..<k {
                position[c] = (0..<(read.sharded ? index : 0)).reduce(0) { $0 + Int(shardCounts[$1 * k + c]) }
            }
            var indices: [Int] = []
            for (i, y) in split.labels.enumerated() {
                let c = Int(y)
                if kept[c][position[c]] { indices.append(i) }
                position[c] += 1
            }
            let part = whole ? split : split.subset(indices)
            if selected == nil { selected = part } else { try selected!.append(part) }
        }
        return selected ?? Split(pixels: .bytes([]), labels: [], channels: read.test.channels,
                                 height: read.test.height, width: read.test.width)
    }
}
