import CHostBarrier
import CMPI
import Foundation

/// Memory shared by the ranks of one host (MPI-3's `MPI_Win_allocate_shared`, held by rank 0 in
/// one piece), whose first cache line is a barrier for those ranks (`host_barrier_wait`): a rank
/// that waits sleeps in the kernel, where one in `MPI_Barrier` would keep taking turns on a core
/// with the ranks still computing.
final class HostWindow {
    /// The bytes after the barrier's cache line, 64-byte aligned.
    let bytes: UnsafeMutableRawPointer
    private var window: MPI_Win?
    private let barrier: UnsafeMutablePointer<host_barrier>
    private let parties: UInt32
    /// Checks of the barrier before a waiting rank sleeps (0 where ranks outnumber cores).
    private let spins: UInt32

    private init(window: MPI_Win?, base: UnsafeMutableRawPointer, parties: Int, oversubscribed: Bool) {
        self.window = window
        barrier = base.assumingMemoryBound(to: host_barrier.self)
        bytes = base + Self.header
        self.parties = UInt32(parties)
        spins = oversubscribed ? 0 : 20_000
    }

    /// Bytes before `bytes`: the barrier's cache line.
    static let header = max(64, MemoryLayout<host_barrier>.stride)

    /// A window of `byteCount` bytes for the ranks of `comm` (collective; they must all be on one
    /// host). Where any rank cannot have it (no one-sided shared-memory component, too little
    /// /dev/shm), every rank learns so through one all-reduce and gets the reason instead.
    static func allocate(comm: MPI_Comm, rank: Int, size: Int, byteCount: Int,
                         oversubscribed: Bool) throws -> Result<HostWindow, HostWindowUnavailable> {
        let total = rank == 0 ? header + byteCount : 0
        var mine: UnsafeMutableRawPointer?
        var win: MPI_Win?
        var failure: String?
        let rc = MPI_Win_allocate_shared(MPI_Aint(total), 1, cmpi_info_null(), comm, &mine, &win)
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
        } else if rank == 0 {
            // A zero barrier before any rank uses it: the all-reduce below orders it before them.
            shared!.initializeMemory(as: UInt8.self, repeating: 0, count: header)
            _ = MPI_Win_sync(win)
        }
        var ok: Int32 = failure == nil ? 1 : 0, all: Int32 = 0
        try MPICommunicator.check(MPI_Allreduce(&ok, &all, 1, cmpi_int32(), cmpi_op_min(), comm), "MPI_Allreduce")
        if all == 0 {
            if win != nil {
                if failure == nil { _ = MPI_Win_unlock_all(win) }
                _ = MPI_Win_free(&win)
            }
            return .failure(HostWindowUnavailable(reason: failure
                ?? "another rank could not allocate the shared window"))
        }
        _ = MPI_Win_sync(win)
        return .success(HostWindow(window: win, base: shared!, parties: size, oversubscribed: oversubscribed))
    }

    /// Waits for every rank of the window; every rank's stores before it are visible after it
    /// (the barrier's atomics order them; the window is locked for all ranks once, at allocation).
    func wait() throws {
        let code = host_barrier_wait(barrier, parties, spins)
        if code != 0 { throw CommunicatorError(call: "host_barrier_wait", reason: String(cString: strerror(code))) }
    }

    /// Frees the window (collective); at the end of MPI, or before a larger one.
    func free() {
        guard window != nil else { return }
        _ = MPI_Win_unlock_all(window)
        _ = MPI_Win_free(&window)
        window = nil
    }
}

/// Why a host window could not be had (the same on every rank).
struct HostWindowUnavailable: Error {
    var reason: String
}
