import CMPI
import Foundation

/// Sums float32 buffers among the ranks of one host through a shared-memory window (MPI-3's
/// `MPI_Win_allocate_shared`), for hosts that hold more ranks than cores (`mpirun -n 8` on two).
///
/// Each rank copies its buffer into its own slot; after a barrier it sums one slice (1/N of
/// the elements) of every slot into the result area, in the order of MPI's all-reduce
/// (`RankOrderSum`, so that the sums have the bits of that path); after a second barrier
/// it copies the whole result back. Every element is thus summed once, the same way for every
/// rank, and the ranks need two barriers (`HostWindow`'s, in which waiting ranks sleep) in
/// place of the message rounds of an all-reduce, each of which waits for two ranks that take
/// turns on the cores. The window grows to the largest buffer summed (collectively: every rank
/// sums the same counts in the same order).
final class SharedMemorySum {
    /// The window's bytes at most (slots of every rank plus the result); larger sums go to MPI.
    static let maxWindowBytes = 1 << 30

    private let comm: MPI_Comm
    private let rank: Int
    private let size: Int
    let oversubscribed: Bool
    private var window: HostWindow?
    private var base: UnsafeMutablePointer<Float>?
    /// Floats per slot.
    private var capacity = 0

    init(comm: MPI_Comm, rank: Int, size: Int, oversubscribed: Bool) {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.oversubscribed = oversubscribed
    }

    /// Why the window is not used (set on every rank alike when one rank could not allocate it).
    private(set) var unavailable: String?

    /// Whether a sum of `count` floats goes through the window (the same answer on every rank).
    func fits(_ count: Int) -> Bool {
        unavailable == nil && count > 0 && (size + 1) * count * MemoryLayout<Float>.size <= Self.maxWindowBytes
    }

    /// Makes the window hold sums of `count` floats (collective); whether it can.
    func reserve(_ count: Int) throws -> Bool {
        if count > capacity, unavailable == nil { try allocate(count) }
        return unavailable == nil
    }

    /// Sums `buffer` over the ranks in place (collective); false, with nothing summed, when the
    /// window could not be had on some rank (the caller sums through MPI, now and from then on).
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Bool {
        if count > capacity { try allocate(count) }
        guard let window, let base, unavailable == nil else { return false }
        (base + rank * capacity).update(from: buffer, count: count)
        try window.wait()
        let lower = count * rank / size, upper = count * (rank + 1) / size
        let result = base + size * capacity
        if upper > lower {
            RankOrderSum.sum(slots: base + lower, stride: capacity, ranks: size, count: upper - lower,
                             into: result + lower, clearing: false)
        }
        try window.wait()
        buffer.update(from: result, count: count)
        return true
    }

    /// Frees the window (collective); at the end of MPI.
    func free() {
        window?.free()
        window = nil
        base = nil
        capacity = 0
    }

    /// A window of `count` floats per slot (collective). Where any rank cannot have it, the
    /// window is given up for good on every rank; rank 0 says why.
    private func allocate(_ count: Int) throws {
        free()
        switch try HostWindow.allocate(comm: comm, rank: rank, size: size,
                                       byteCount: (size + 1) * count * MemoryLayout<Float>.size,
                                       oversubscribed: oversubscribed) {
        case .success(let w):
            window = w
            base = w.bytes.assumingMemoryBound(to: Float.self)
            capacity = count
        case .failure(let why):
            unavailable = why.reason
            if rank == 0 {
                let message = "warning: gradients are summed through MPI_Allreduce: no shared-memory window " +
                    "(\(why.reason))\n"
                FileHandle.standardError.write(Data(message.utf8))
            }
        }
    }
}
