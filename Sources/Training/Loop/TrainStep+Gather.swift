import Data
import Distributed
import Losses

/// A step's samples on this rank: their indices in the split, their positions in the epoch
/// (which seed their augmentation) and their rows in the global batch. Sized once.
final class BatchSlots {
    let indices: UnsafeMutablePointer<Int>
    let positions: UnsafeMutablePointer<Int>
    let rows: UnsafeMutablePointer<Int>
    /// The partners of a mixed batch (`BatchMix`): indices and positions.
    let partners: UnsafeMutablePointer<Int>
    let partnerPositions: UnsafeMutablePointer<Int>

    init(capacity: Int) {
        indices = .allocate(capacity: capacity)
        positions = .allocate(capacity: capacity)
        rows = .allocate(capacity: capacity)
        partners = .allocate(capacity: capacity)
        partnerPositions = .allocate(capacity: capacity)
    }

    deinit {
        indices.deallocate()
        positions.deallocate()
        rows.deallocate()
        partners.deallocate()
        partnerPositions.deallocate()
    }
}

extension TrainStep {
    /// All-gathers the ranks' rows (B, width) and labels into global-batch order, as a loss
    /// term asked (`LossNeeds.gatherWidth`); `localRows` maps this rank's samples into it.
    /// The buffers stay valid until the next gather.
    func gatherGlobalBatch(rows source: UnsafePointer<Float>?, width: Int, count n: Int,
                           step: Int) throws -> GlobalBatch {
        let stride = width + 1
        for r in 0..<comm.size { gather.counts[r] = sampler.localBatchSize(step: step, rank: r) }
        gather.reserve(rows: n, width: width)
        if let source {
            for i in 0..<n {
                for c in 0..<width { gather.send[i * stride + c] = source[i * width + c] }
                gather.send[i * stride + width] = Float(batches.targets[i])
            }
        }
        let total = try gather.gather(width: width) { r, i in
            let row = sampler.globalRow(step: step, rank: r, local: i)
            if r == comm.rank { slots.rows[i] = row }
            return row
        }
        return gather.withGathered { s, l in
            GlobalBatch(rows: s, width: width, labels: l, count: total, localRows: slots.rows, ranks: comm.size)
        }
    }
}

extension TrainStep {
    /// Fills `buffer` with step `step` of `epoch`: this rank's samples, their partners and the
    /// blend where the phase mixes (mixup and CutMix in the first stage), augmented. A function
    /// of (seed, epoch, step) and the epoch's order alone; runs on the prefetch thread.
    func prepare(epoch: Int, step: Int, into buffer: BatchPrefetch.Buffer) -> BatchPrefetch.Prepared {
        let slots = buffer.slots, batches = buffer.assembler
        let n = sampler.indices(step: step, order: statistics.order, into: slots.indices, positions: slots.positions)
        let mix = phases.phase(at: epoch).stage == 1
            ? BatchMix.draw(config.augmentation, seed: UInt64(config.seed), epoch: epoch, step: step,
                            height: batches.split.height, width: batches.split.width) : nil
        if n > 0, mix != nil {
            sampler.partners(step: step, order: statistics.order, count: n, into: slots.partners,
                             positions: slots.partnerPositions, of: slots.positions)
        }
        if n > 0 {
            batches.assemble(indices: slots.indices, positions: slots.positions, count: n, epoch: epoch, mix: mix,
                             partners: (UnsafePointer(slots.partners), UnsafePointer(slots.partnerPositions)))
        }
        return BatchPrefetch.Prepared(epoch: epoch, step: step, count: n, mix: mix)
    }
}
