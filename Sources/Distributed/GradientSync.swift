import Dispatch

/// How a training step's gradients and scalars are summed over the ranks: one protocol, two
/// implementations that add the same terms in the same order (`RankOrderSum`), so N ranks end
/// with the same bits on either.
///
/// A step: `begin`; backward (reporting finished offsets to `gradientsReady` where the sync
/// wants them); `sum`, which leaves the summed gradients at `gradients` (valid on `range`) and
/// the scalars' sums in place; then the caller updates `range` of the parameters from
/// `gradients` (or calls `discard`); `end`.
public protocol GradientSync: AnyObject {
    var path: SumPath { get }
    /// The summed gradients after `sum` (valid on `range`).
    var gradients: UnsafeMutablePointer<Float> { get }
    /// The elements this rank updates.
    var range: Range<Int> { get }
    /// Backward's "everything at or above this offset is final", nil when the sync does not listen.
    var gradientsReady: ((Int) throws -> Void)? { get }
    /// Seconds waited for other ranks since `resetTiming`.
    var exposedSeconds: Double { get }
    func resetTiming()
    /// Before backward.
    func begin()
    /// Sums the gradients and `scalars` (at most 4 doubles) over the ranks (collective).
    /// `scalars[0]` is a non-finite flag: set to 1 before the sums where this rank's gradients
    /// hold a NaN or infinity, so that its sum says whether any rank's did. With `clearing`,
    /// gradient memory the next backward adds into is left zero, but for `range` of `gradients`,
    /// which the update (or `discard`) clears.
    func sum(scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws
    /// A skipped step: zeroes `range` of `gradients` when `clearing`.
    func discard(clearing: Bool)
    /// After the update (collective where ranks share the parameters).
    func end() throws
}

/// Every rank keeps its parameters and gradients; buckets are all-reduced as backward finishes
/// them (`GradientReducer`: non-blocking, blocking, or through a shared-memory sum), the scalars
/// in one all-reduce.
public final class AllReduceSync: GradientSync {
    public let reducer: GradientReducer
    public let path: SumPath
    public let gradients: UnsafeMutablePointer<Float>
    public let range: Range<Int>
    private let comm: Communicator
    public private(set) var gradientsReady: ((Int) throws -> Void)?

    public init(comm: Communicator, reducer: GradientReducer, gradients: UnsafeMutablePointer<Float>, count: Int,
                path: SumPath) {
        self.comm = comm
        self.reducer = reducer
        self.gradients = gradients
        self.path = path
        range = 0..<count
        gradientsReady = { [reducer] offset in try reducer.gradientsReady(from: offset) }
    }

    public var exposedSeconds: Double { reducer.exposedSeconds }
    public func resetTiming() { reducer.resetTiming() }
    public func begin() { reducer.reset() }

    public func sum(scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws {
        try reducer.finish()
        if reducer.localNonFinite { scalars[0] = 1 }
        try comm.allReduceSum(scalars)
    }

    public func discard(clearing: Bool) {
        if clearing { gradients.update(repeating: 0, count: range.count) }
    }

    public func end() throws {}
}

/// One copy of the parameters for the ranks of a host (`SharedParameters`): each rank's gradient
/// slot is summed slice by slice in one shared-memory round with the scalars; each rank updates
/// its slice; a barrier ends the step.
public final class SharedParameterSync: GradientSync {
    public let shared: SharedParameters
    public var path: SumPath { .sharedParameters }
    public var gradients: UnsafeMutablePointer<Float> { shared.summed }
    public var range: Range<Int> { shared.slice }
    public var gradientsReady: ((Int) throws -> Void)? { nil }
    public private(set) var exposedSeconds = 0.0
    private let comm: Communicator

    public init(comm: Communicator, shared: SharedParameters) {
        self.comm = comm
        self.shared = shared
    }

    public func resetTiming() { exposedSeconds = 0 }
    public func begin() {}

    public func sum(scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws {
        if !GradientReducer.allFinite(shared.gradients, count: shared.count) { scalars[0] = 1 }
        let t0 = Self.now()
        try comm.reduce(shared, scalars: scalars, clearing: clearing)
        exposedSeconds += Self.now() - t0
    }

    public func discard(clearing: Bool) {
        if clearing { (shared.summed + shared.slice.lowerBound).update(repeating: 0, count: shared.slice.count) }
    }

    public func end() throws {
        let t0 = Self.now()
        try comm.finish(shared)
        exposedSeconds += Self.now() - t0
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}
