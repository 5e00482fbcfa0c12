import CMPI
import Foundation

/// Sums float32 buffers among the ranks of one host through a shared-memory window (MPI-3's
/// `MPI_Win_allocate_shared`), for hosts that hold more ranks than cores (`mpirun -n 8` on two).
///
/// Each rank copies its buffer into its own slot; after a barrier it sums one slice (1/N of
/// the elements) of every slot, in rank order, into the result area; after a second barrier
/// it copies the whole result back. Every element is thus summed once, the same way for every
/// rank, and the ranks need two barriers in place of the message rounds of an all-reduce,
/// each of which waits for two ranks that take turns on the cores. The window grows to the
/// largest buffer summed (collectively: every rank sums the same counts in the same order).
final class SharedMemorySum {
    /// The window's bytes at most (slots of every rank plus the result); larger sums go to MPI.
    static let maxWindowBytes = 1 << 30

    private let comm: MPI_Comm
    private let rank: Int
    private let size: Int
    private var window: MPI_Win?
    private var base: UnsafeMutablePointer<Float>?
    /// Floats per slot.
    private var capacity = 0

    init(comm: MPI_Comm, rank: Int, size: Int) {
        self.comm = comm
        self.rank = rank
        self.size = size
    }

    /// Why the window is not used (set on every rank alike when one rank could not allocate it).
    private(set) var unavailable: String?

    /// Whether a sum of `count` floats goes through the window (the same answer on every rank).
    func fits(_ count: Int) -> Bool {
        unavailable == nil && count > 0 && (size + 1) * count * MemoryLayout<Float>.size <= Self.maxWindowBytes
    }

    /// Sums `buffer` over the ranks in place (collective); false, with nothing summed, when the
    /// window could not be had on some rank (the caller sums through MPI, now and from then on).
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Bool {
        if count > capacity { try allocate(count) }
        guard let base, unavailable == nil else { return false }
        (base + rank * capacity).update(from: buffer, count: count)
        try fence()
        let lower = count * rank / size, upper = count * (rank + 1) / size
        let result = base + size * capacity
        if upper > lower {
            (result + lower).update(from: base + lower, count: upper - lower)
            for q in 1..<size {
                let slot = base + q * capacity
                for i in lower..<upper { result[i] += slot[i] }
            }
        }
        try fence()
        buffer.update(from: result, count: count)
        return true
    }

    /// Frees the window (collective); at the end of MPI.
    func free() {
        guard window != nil else { return }
        _ = MPI_Win_unlock_all(window)
        _ = MPI_Win_free(&window)
        window = nil
        base = nil
        capacity = 0
    }

    /// Makes every rank's stores visible to the others: a memory barrier on each side of the
    /// ranks' barrier (the window is locked for all ranks once, at allocation).
    private func fence() throws {
        try MPICommunicator.check(MPI_Win_sync(window), "MPI_Win_sync")
        try MPICommunicator.check(MPI_Barrier(comm), "MPI_Barrier")
        try MPICommunicator.check(MPI_Win_sync(window), "MPI_Win_sync")
    }

    /// A window of `count` floats per slot, held by rank 0 in one piece (collective). Where
    /// any rank cannot have it (no one-sided shared-memory component, too little /dev/shm), every
    /// rank learns so through one all-reduce and the window is given up for good; rank 0 says why.
    private func allocate(_ count: Int) throws {
        free()
        let bytes = rank == 0 ? (size + 1) * count * MemoryLayout<Float>.size : 0
        var mine: UnsafeMutableRawPointer?
        var win: MPI_Win?
        var failure: String?
        let rc = MPI_Win_allocate_shared(MPI_Aint(bytes), Int32(MemoryLayout<Float>.size), cmpi_info_null(), comm, &mine, &win)
        var length: MPI_Aint = 0
        var unit: Int32 = 0
        var shared: UnsafeMutableRawPointer?
        if rc != cmpi_success() {
            failure = "MPI_Win_allocate_shared: \(MPICommunicator.errorString(rc))"
            win = nil
        } else if MPI_Win_set_errhandler(win, cmpi_errors_return()) != cmpi_success()
                    || MPI_Win_shared_query(win, 0, &length, &unit, &shared) != cmpi_success() || shared == nil
                    || MPI_Win_lock_all(cmpi_mode_nocheck(), win) != cmpi_success() {
            failure = "the shared window of rank 0 could not be mapped"
        }
        var ok: Int32 = failure == nil ? 1 : 0, all: Int32 = 0
        try MPICommunicator.check(MPI_Allreduce(&ok, &all, 1, cmpi_int32(), cmpi_op_min(), comm), "MPI_Allreduce")
        if all == 0 {
            if win != nil {
                if failure == nil { _ = MPI_Win_unlock_all(win) }
                _ = MPI_Win_free(&win)
            }
            unavailable = failure ?? "another rank could not allocate the shared window"
            if rank == 0 {
                FileHandle.standardError.write(Data(
                    "warning: gradients are summed through MPI_Allreduce: no shared-memory window (\(unavailable!))\n".utf8))
            }
            return
        }
        window = win
        base = shared?.assumingMemoryBound(to: Float.self)
        capacity = count
    }
}
