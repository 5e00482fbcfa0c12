import Foundation

/// One copy of a model's parameters and optimiser state for all the ranks of a host that holds
/// more ranks than cores (`mpirun -n 8` on two), with a gradient slot per rank, in one
/// shared-memory window.
///
/// Eight replicas of the weights, gradients and momentum would each be read, summed, copied
/// and updated by their own rank, and evict each other from the caches: the update alone ran
/// eight times for one result. Here every rank reads the one copy of the weights in forward
/// and backward and writes its gradients into its slot. `reduce` waits for every rank, then
/// each rank sums its slice (1/N of the elements) of every slot into slot 0 (in MPI's order,
/// `RankOrderSum`), and the step's few scalars (loss, flags) of every rank; each rank then updates its slice of
/// the weights and state from those sums, and `finish` waits for every rank again before the
/// next forward. The sums are those of `SharedMemorySum`, element by element. Where backward adds
/// into the gradients, the sum clears the slots it has read and the update slot 0's slice, in
/// the same passes.
///
/// Writes outside a step (initial weights, a checkpoint loaded, a broadcast) happen on every rank
/// with the same values, before any rank's first `reduce`.
public final class SharedParameters {
    /// Floats of parameters (and of each gradient slot), and of optimiser state.
    public let count: Int
    public let stateCount: Int
    /// The parameters, the optimiser state, this rank's gradients, and the summed gradients
    /// (valid on `slice` after `reduce`).
    public let values: UnsafeMutablePointer<Float>
    public let state: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let summed: UnsafeMutablePointer<Float>
    /// The elements this rank sums and updates.
    public let slice: Range<Int>
    /// Scalars per rank that `reduce` sums.
    public static let scalarCapacity = 4

    private let window: HostWindow
    private let rank: Int
    private let size: Int
    private let scalars: UnsafeMutablePointer<Double>
    private let slots: UnsafeMutablePointer<Float>

    /// Bytes of the window for `count` parameters, `stateCount` state floats and `size` ranks.
    static func layout(count: Int, stateCount: Int, size: Int) -> (scalars: Int, values: Int, state: Int, slots: Int,
                                                                   total: Int) {
        func line(_ n: Int) -> Int { (n + 63) / 64 * 64 }
        let scalars = 0
        let values = line(scalars + size * scalarCapacity * MemoryLayout<Double>.size)
        let state = line(values + count * MemoryLayout<Float>.size)
        let slots = line(state + stateCount * MemoryLayout<Float>.size)
        return (scalars, values, state, slots, line(slots + size * count * MemoryLayout<Float>.size))
    }

    init(window: HostWindow, rank: Int, size: Int, count: Int, stateCount: Int) {
        self.window = window
        self.rank = rank
        self.size = size
        self.count = count
        self.stateCount = stateCount
        let l = Self.layout(count: count, stateCount: stateCount, size: size)
        scalars = (window.bytes + l.scalars).assumingMemoryBound(to: Double.self)
        values = (window.bytes + l.values).assumingMemoryBound(to: Float.self)
        state = (window.bytes + l.state).assumingMemoryBound(to: Float.self)
        slots = (window.bytes + l.slots).assumingMemoryBound(to: Float.self)
        gradients = slots + rank * count
        summed = slots
        slice = count * rank / size ..< count * (rank + 1) / size
    }

    /// Copies rank 0's parameters and state into the window; every rank waits for it (collective).
    func adopt(values source: UnsafePointer<Float>, state stateSource: UnsafePointer<Float>) throws {
        if rank == 0 {
            values.update(from: source, count: count)
            state.update(from: stateSource, count: stateCount)
        }
        gradients.update(repeating: 0, count: count)
        try window.wait()
    }

    /// After every rank wrote its gradients and `local` (at most `scalarCapacity` numbers): sums
    /// this rank's slice of the gradients into `summed`, and every rank's `local` into `local`,
    /// in MPI's order (collective). With `clearing`, the slices of slots 1... are left zero (the
    /// next backward adds into them; the update clears slot 0's).
    func reduce(_ local: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws {
        precondition(local.count <= Self.scalarCapacity)
        let mine = scalars + rank * Self.scalarCapacity
        for i in 0..<local.count { mine[i] = local[i] }
        try window.wait()
        withUnsafeTemporaryAllocation(of: Double.self, capacity: RankOrderSum.levels(size)) { stack in
            for i in 0..<local.count {
                local[i] = RankOrderSum.sum(ranks: size,
                                            stack: stack.baseAddress!) { q in scalars[q * Self.scalarCapacity + i] }
            }
        }
        guard !slice.isEmpty else { return }
        let lower = slice.lowerBound
        RankOrderSum.sum(slots: slots + lower, stride: count, ranks: size, count: slice.count, into: summed + lower,
                         clearing: clearing)
    }

    /// Waits for every rank (collective): the updates of all slices are done, and no rank reads a
    /// gradient slot any more.
    func finish() throws {
        try window.wait()
    }

    /// Frees the window (collective); at the end of MPI.
    func free() { window.free() }
}
