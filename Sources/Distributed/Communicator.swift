/// The element types a `Communicator` can reduce, broadcast and gather.
public enum ScalarKind: Sendable {
    case float, double, int64, int32, byte
    /// 16-bit floats held as `UInt16` bit patterns (sum only): compressed gradients.
    case bfloat16, float16

    /// Size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .float, .int32: return 4
        case .double, .int64: return 8
        case .bfloat16, .float16: return 2
        case .byte: return 1
        }
    }
}

/// A reduction operator.
public enum ReduceOp: Sendable { case sum, max, min }

/// A Swift scalar that maps onto a `ScalarKind`.
public protocol CommunicatorScalar {
    static var kind: ScalarKind { get }
}
extension Float: CommunicatorScalar { public static var kind: ScalarKind { .float } }
extension Double: CommunicatorScalar { public static var kind: ScalarKind { .double } }
extension Int64: CommunicatorScalar { public static var kind: ScalarKind { .int64 } }
extension Int32: CommunicatorScalar { public static var kind: ScalarKind { .int32 } }
extension UInt8: CommunicatorScalar { public static var kind: ScalarKind { .byte } }

/// A pending non-blocking operation; complete it with `Communicator.test` or `wait`.
public protocol CommunicatorRequest: AnyObject {}

/// The collective operations the trainer needs, over all ranks of a job.
///
/// Every operation is collective: all ranks must call it in the same order.
/// Buffers are raw pointers so that flat parameter and gradient buffers can be
/// reduced in place without copies; typed conveniences live in
/// `Communicator+Typed.swift`.
public protocol Communicator: AnyObject {
    /// This process's rank in `0..<size`.
    var rank: Int { get }
    /// Number of ranks in the job.
    var size: Int { get }
    /// Rank among the ranks on this host, and their number.
    var localRank: Int { get }
    var localSize: Int { get }
    /// Host name as the communication library reports it.
    var hostName: String { get }
    /// The library's own description (for example `MPI_Get_library_version`).
    var libraryVersion: String { get }

    /// Reduces `count` elements at `buffer` over all ranks, in place.
    func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp) throws
    /// Starts an in-place all-reduce; the buffer must stay untouched until it completes.
    /// `reusing` is a completed request of this communicator to recycle (no allocation per call).
    func startAllReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp,
                        reusing: CommunicatorRequest?) throws -> CommunicatorRequest
    /// Drives progress; returns true once `request` has completed.
    func test(_ request: CommunicatorRequest) throws -> Bool
    /// Blocks until `request` has completed.
    func wait(_ request: CommunicatorRequest) throws
    /// Copies `byteCount` bytes at `buffer` from `root` to every rank.
    func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int) throws
    /// Gathers `byteCounts[r]` bytes from each rank r into `receive`, in rank order, on every rank.
    /// `send` holds this rank's `byteCounts[rank]` bytes.
    func allGather(_ send: UnsafeRawPointer, byteCounts: [Int], into receive: UnsafeMutableRawPointer) throws
    /// Waits for every rank.
    func barrier() throws
    /// Ends the whole job at once, with `message` printed by this rank.
    func abort(_ message: String, code: Int32) -> Never
    /// The record of this rank's last collectives, when the communicator keeps one
    /// (`RecordingCommunicator`).
    var flightRecorder: FlightRecorder? { get }
    /// One copy of `count` parameters and `stateCount` optimiser floats for all ranks, holding
    /// rank 0's `values` and `state`, where the ranks share a host with fewer cores than ranks
    /// (`SharedParameters`); nil elsewhere, on every rank alike. Collective.
    func shareParameters(count: Int, stateCount: Int, values: UnsafePointer<Float>,
                         state: UnsafePointer<Float>) throws -> SharedParameters?
    /// Whether blocking float sums of up to `count` elements go through a shared-memory window
    /// among the ranks of one host (`SharedMemorySum`), made now if they do; the same answer on
    /// every rank. Collective.
    func prepareSums(count: Int) throws -> Bool
    /// `SharedParameters.reduce`: the gradients' sums on this rank's slice and the scalars' sums.
    func reduce(_ shared: SharedParameters, scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws
    /// `SharedParameters.finish`: every rank has updated its slice.
    func finish(_ shared: SharedParameters) throws
}

extension Communicator {
    public var flightRecorder: FlightRecorder? { nil }
    public func shareParameters(count: Int, stateCount: Int, values: UnsafePointer<Float>,
                                state: UnsafePointer<Float>) throws -> SharedParameters? { nil }
    public func prepareSums(count: Int) throws -> Bool { false }
    public func reduce(_ shared: SharedParameters, scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws {
        try shared.reduce(scalars, clearing: clearing)
    }
    public func finish(_ shared: SharedParameters) throws { try shared.finish() }
}
