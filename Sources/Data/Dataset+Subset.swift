import Distributed

/// The training selection (`--subset`, the own long-tail selection, the validation split) and its
/// translation between per-class positions (`LongTail.select`'s form) and indices into the
/// training set in data order (`--subset FILE`, `subset.npy`), the same on any number of ranks.
extension Dataset {
    typealias Selection = (targets: [Int], kept: [[Bool]], val: [[Bool]]?)

    /// Per class, the samples trained on and those of the validation split (collective).
    static func selectTraining(_ config: DataConfig, original: [Int], read: ReadSplits, shardCounts: [Int64],
                               seed: UInt64, comm: Communicator) throws -> Selection {
        switch config.subset {
        case nil:
            return try comm.agree {
                try LongTail.select(original: original, ratio: config.imbalanceRatio,
                                    profile: config.imbalanceProfile, seed: seed, validation: config.validation)
            }
        case .ldam:
            return try comm.agree {
                let chosen = try LongTail.ldamSelect(original: original, ratio: config.imbalanceRatio,
                                                     profile: config.imbalanceProfile, seed: seed)
                return try LongTail.split(config.validation, of: chosen, seed: seed, subset: .ldam)
            }
        case .file(let path):
            let indices = try comm.agree { try SubsetFile.read(path, total: original.reduce(0, +)) }
            let kept = try positions(of: indices, read: read, shardCounts: shardCounts, comm: comm)
            return try comm.agree {
                let targets = kept.map { $0.count(where: { $0 }) }
                if let c = targets.firstIndex(of: 0) {
                    throw DataError.emptyClass(classIndex: c, reason: "--subset \(path) lists no sample of it")
                }
                return try LongTail.split(config.validation, of: (targets, kept), seed: seed, subset: config.subset)
            }
        }
    }

    /// The position of this rank's shard `index` in the training set, and each class's count before it.
    private static func shardStart(_ index: Int, read: ReadSplits, shardCounts: [Int64], classes k: Int) -> (Int,
        [Int]) {
        let before = read.sharded ? index : 0
        let perClass = (0..<k).map { c in (0..<before).reduce(0) { $0 + Int(shardCounts[$1 * k + c]) } }
        return (perClass.reduce(0, +), perClass)
    }

    /// Per class, which samples (in data order) the ascending training-set `indices` name.
    static func positions(of indices: [Int], read: ReadSplits, shardCounts: [Int64],
                          comm: Communicator) throws -> [[Bool]] {
        let rows = read.sharded ? read.shardFiles.count : 1
        let k = shardCounts.count / rows
        let total = Int(shardCounts.reduce(0, +))
        var listed = [Bool](repeating: false, count: total)
        for i in indices { listed[i] = true }
        // Flattened per class: class c's positions follow those of the classes before it.
        var classStart = [Int](repeating: 0, count: k + 1)
        for c in 0..<k {
            classStart[c + 1] = classStart[c] + (0..<rows).reduce(0) { $0 + Int(shardCounts[$1 * k + c]) }
        }
        var marks = [Bool](repeating: false, count: total)
        for (index, split, _) in read.shards {
            var (offset, position) = shardStart(index, read: read, shardCounts: shardCounts, classes: k)
            for y in split.labels {
                let c = Int(y)
                if listed[offset] { marks[classStart[c] + position[c]] = true }
                offset += 1
                position[c] += 1
            }
        }
        if read.sharded { try unionOverRanks(&marks, comm: comm) }
        return (0..<k).map { c in Array(marks[classStart[c]..<classStart[c + 1]]) }
    }

    /// The training-set indices (ascending) of the samples `kept` keeps, leaving out the classes
    /// `excluded` (held out of training): what `subset.npy` records.
    static func indices(of kept: [[Bool]], read: ReadSplits, shardCounts: [Int64], excluded: Set<Int>,
                        comm: Communicator) throws -> [Int] {
        let k = kept.count
        let total = Int(shardCounts.reduce(0, +))
        var marks = [Bool](repeating: false, count: total)
        for (index, split, _) in read.shards {
            var (offset, position) = shardStart(index, read: read, shardCounts: shardCounts, classes: k)
            for y in split.labels {
                let c = Int(y)
                if kept[c][position[c]], !excluded.contains(c) { marks[offset] = true }
                offset += 1
                position[c] += 1
            }
        }
        if read.sharded { try unionOverRanks(&marks, comm: comm) }
        return marks.indices.filter { marks[$0] }
    }

    /// Each rank's marks combined (a mark on any rank is a mark on all): packed into 64-bit words and
    /// summed, which is an OR since no two ranks mark the same sample.
    private static func unionOverRanks(_ marks: inout [Bool], comm: Communicator) throws {
        var words = [Int64](repeating: 0, count: (marks.count + 63) / 64)
        for i in marks.indices where marks[i] { words[i / 64] |= Int64(bitPattern: 1 << UInt64(i % 64)) }
        try comm.allReduceSum(&words)
        for i in marks.indices { marks[i] = (UInt64(bitPattern: words[i / 64]) >> UInt64(i % 64)) & 1 == 1 }
    }
}
