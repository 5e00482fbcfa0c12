import Testing
import Tensor
@testable import Data

@Suite struct SamplerTests {
    func batches(_ s: DistributedSampler, epoch: Int, step: Int) -> [Int] {
        let order = s.permutation(epoch: epoch)
        var out = [Int](repeating: -1, count: s.batchSize), pos = [Int](repeating: -1, count: s.batchSize)
        let n = s.indices(step: step, order: order, into: &out, positions: &pos)
        #expect(n == s.localBatchSize(step: step))
        return Array(out.prefix(n))
    }

    /// The union of the ranks' batches of each step is the one-process batch, the last one too,
    /// whatever W divides.
    @Test(arguments: [1, 2, 3, 4], [120, 128])
    func ranksTogetherTakeTheOneProcessBatch(world: Int, batch: Int) {
        let n = 1201  // no world size or batch divides it: the last batch has 1 or 49 samples
        let single = DistributedSampler(count: n, globalCount: n, batchSize: batch, rank: 0, worldSize: 1, seed: 7,
                                        sharded: false, end: .whole)
        for step in [0, 1, single.stepsPerEpoch - 1] {
            let want = batches(single, epoch: 3, step: step)
            var got: [Int] = []
            var sizes: [Int] = []
            for r in 0..<world {
                let s = DistributedSampler(count: n, globalCount: n, batchSize: batch, rank: r, worldSize: world,
                                           seed: 7, sharded: false, end: .whole)
                #expect(s.stepsPerEpoch == single.stepsPerEpoch)
                let b = batches(s, epoch: 3, step: step)
                sizes.append(b.count)
                got += b
            }
            #expect(got.sorted() == want.sorted())
            #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
        }
    }

    /// globalRow puts each rank's samples where one process has them in the batch: row = position - batch start.
    @Test(arguments: [1, 2, 3, 4])
    func globalRowsAreBatchPositions(world: Int) {
        for step in [0, 3, 9] {
            var rows: [Int] = []
            for r in 0..<world {
                let s = DistributedSampler(count: 1000, globalCount: 1000, batchSize: 110, rank: r, worldSize: world,
                                           seed: 1, sharded: false, end: .whole)
                var idx = [Int](repeating: 0, count: 110), pos = [Int](repeating: 0, count: 110)
                let n = s.indices(step: step, order: s.permutation(epoch: 0), into: &idx, positions: &pos)
                #expect(n == s.localBatchSize(step: step))
                #expect((0..<world).map { s.localBatchSize(step: step, rank: $0) }.reduce(0,
                    +) == s.globalRange(step: step).count)
                for i in 0..<n {
                    let row = s.globalRow(step: step, rank: r, local: i)
                    #expect(row == pos[i] - s.globalRange(step: step).lowerBound)
                    rows.append(row)
                }
            }
            #expect(rows.sorted() == Array(0..<rows.count))
        }
    }

    @Test func epochsDifferAndSeedsRepeat() {
        let s = DistributedSampler(count: 100, globalCount: 100, batchSize: 10, rank: 0, worldSize: 1, seed: 1,
                                   sharded: false, end: .whole)
        #expect(s.permutation(epoch: 0) != s.permutation(epoch: 1))
        // The same seed and epoch in a sampler of its own (nothing shared) give the same order;
        // another seed does not.
        let again = DistributedSampler(count: 100, globalCount: 100, batchSize: 10, rank: 0, worldSize: 1, seed: 1,
                                       sharded: false, end: .whole)
        let other = DistributedSampler(count: 100, globalCount: 100, batchSize: 10, rank: 0, worldSize: 1, seed: 2,
                                       sharded: false, end: .whole)
        #expect(again.permutation(epoch: 2) == s.permutation(epoch: 2))
        #expect(other.permutation(epoch: 2) != s.permutation(epoch: 2))
        #expect(s.permutation(epoch: 2).sorted() == Array(0..<100))
    }

    @Test func paddingWrapsAndOwnedCountsExcludeIt() {
        // 10 samples, 3 ranks: padded to 12 by wrapping; owned counts cover each sample once.
        let labels: [Int32] = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
        var total = [0, 0, 0]
        var seen: [Int] = []
        for r in 0..<3 {
            let s = DistributedSampler(count: 10, globalCount: 10, batchSize: 6, rank: r, worldSize: 3, seed: 2,
                                       sharded: false, end: .padToWorldSize)
            #expect(s.paddedCount == 12 && s.stepsPerEpoch == 2)
            let order = s.permutation(epoch: 0)
            let counts = s.ownedLabelCounts(epoch: 0, order: order, labels: labels, classes: 3)
            for c in 0..<3 { total[c] += counts[c] }
            seen += batches(s, epoch: 0, step: 0) + batches(s, epoch: 0, step: 1)
        }
        #expect(total == [4, 3, 3])
        #expect(seen.count == 12 && Set(seen).count == 10)
        let dropping = DistributedSampler(count: 10, globalCount: 10, batchSize: 4, rank: 0, worldSize: 2, seed: 2,
                                          sharded: false, end: .dropLast)
        #expect(dropping.stepsPerEpoch == 2 && dropping.paddedCount == 8)
    }

    @Test func wholeEpochsSeeEverySampleOnce() {
        // 10 samples, batch 9, 4 ranks: the last global batch is 1 sample, on rank 1 alone
        // (position 9); the ranks together see each sample once, as one process.
        var seen: [Int] = []
        for r in 0..<4 {
            let s = DistributedSampler(count: 10, globalCount: 10, batchSize: 9, rank: r, worldSize: 4, seed: 2,
                                       sharded: false, end: .whole)
            #expect(s.paddedCount == 10 && s.stepsPerEpoch == 2)
            #expect(s.localBatchSize(step: 1) == (r == 1 ? 1 : 0))
            seen += batches(s, epoch: 0, step: 0) + batches(s, epoch: 0, step: 1)
        }
        #expect(seen.sorted() == Array(0..<10))
    }

    @Test func batchAssemblerLayoutsAndNormalisation() {
        let split = Split(pixels: .bytes([0, 255, 51, 102, 10, 20, 30, 40]), labels: [1, 0], channels: 1, height: 2,
                          width: 2)
        let rows = BatchAssembler(split: split, mean: [0.2], std: [0.5], channelMajor: false, seed: 0)
        var idx = [1, 0], pos = [0, 1]
        rows.assemble(indices: &idx, positions: &pos, count: 2, epoch: 0)
        #expect(rows.input.shape == [2, 4])
        #expect(abs(rows.input[0] - (10.0 / 255 - 0.2) / 0.5) < 1e-6)
        #expect(abs(rows.input[5] - (255.0 / 255 - 0.2) / 0.5) < 1e-6)
        #expect(rows.targets[0] == 0 && rows.targets[1] == 1)
        let rgb = Split(pixels: .floats((0..<(2 * 3 * 4)).map(Float.init)), labels: [0, 1], channels: 3, height: 2,
                        width: 2)
        let cm = BatchAssembler(split: rgb, mean: [0, 0, 0], std: [1, 1, 1], channelMajor: true,
                                seed: 0)
        var both = [0, 1]
        cm.assemble(indices: &both, positions: &pos, count: 2, epoch: 0)
        #expect(cm.input.shape == [3, 2, 2, 2])
        // (c=1, b=1, 0, 0) is sample 1, channel 1, pixel 0 = 12 + 4.
        #expect(cm.input[(1 * 2 + 1) * 4] == 16)
    }

    /// Any image below 64 px: colour CIFAR and grey Fashion-MNIST alike.
    @Test(arguments: [(3, 32, 32), (1, 28, 28), (3, 40, 24)])
    func augmentationIsSeededAndShifts(shape: (Int, Int, Int)) {
        let (c, h, w) = shape
        let pixels = (0..<(c * h * w)).map { UInt8($0 % 256) }
        let split = Split(pixels: .bytes(pixels), labels: [0], channels: c, height: h, width: w)
        let mean = [Float](repeating: 0, count: c), std = [Float](repeating: 1, count: c)
        let a = BatchAssembler(split: split, mean: mean, std: std, channelMajor: true,
                               augmentation: Augmentation(cropAndFlip: true), seed: 5)
        let b = BatchAssembler(split: split, mean: mean, std: std, channelMajor: true,
                               augmentation: Augmentation(cropAndFlip: true), seed: 5)
        #expect(a.augmentation.cropAndFlip)
        var idx = [0], pos = [42]
        a.assemble(indices: &idx, positions: &pos, count: 1, epoch: 1)
        b.assemble(indices: &idx, positions: &pos, count: 1, epoch: 1)
        #expect(a.input.array == b.input.array)
        var differs = false
        for p in 0..<20 {
            var q = [p]
            b.assemble(indices: &idx, positions: &q, count: 1, epoch: 1)
            if b.input.array != a.input.array { differs = true }
            // The multiset of a row's values comes from the source image or the zero padding.
            #expect(b.input.array.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        #expect(differs)
    }
}
