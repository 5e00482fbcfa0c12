import Foundation

/// A communicator that keeps a `FlightRecorder` of every collective it passes on to `inner`,
/// and writes the record before an abort. The launcher wraps the MPI world in one.
public final class RecordingCommunicator: Communicator {
    private final class Request: CommunicatorRequest {
        var inner: CommunicatorRequest?
        var seq: UInt64 = 0
        var done = false
    }

    public let inner: Communicator
    public let recorder: FlightRecorder

    public init(_ inner: Communicator, capacity: Int = 512) {
        self.inner = inner
        recorder = FlightRecorder(capacity: capacity, rank: inner.rank, size: inner.size, host: inner.hostName)
    }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public var localRank: Int { inner.localRank }
    public var localSize: Int { inner.localSize }
    public var hostName: String { inner.hostName }
    public var libraryVersion: String { inner.libraryVersion }
    public var flightRecorder: FlightRecorder? { recorder }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp) throws {
        let seq = recorder.begin(.allReduce, bytes: count * kind.byteCount)
        try inner.allReduce(buffer, count: count, kind: kind, op: op)
        recorder.end(seq)
    }

    public func startAllReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp,
                               reusing: CommunicatorRequest?) throws -> CommunicatorRequest {
        let request: Request
        if let old = reusing as? Request, old.done {
            request = old
        } else {
            request = Request()
        }
        request.done = false
        request.seq = recorder.begin(.startAllReduce, bytes: count * kind.byteCount)
        request.inner = try inner.startAllReduce(buffer, count: count, kind: kind, op: op, reusing: request.inner)
        return request
    }

    public func test(_ request: CommunicatorRequest) throws -> Bool {
        let request = Self.own(request)
        if request.done { return true }
        guard let r = request.inner, try inner.test(r) else { return false }
        complete(request)
        return true
    }

    public func wait(_ request: CommunicatorRequest) throws {
        let request = Self.own(request)
        if request.done { return }
        if let r = request.inner { try inner.wait(r) }
        complete(request)
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int) throws {
        let seq = recorder.begin(.broadcast, bytes: byteCount)
        try inner.broadcast(buffer, byteCount: byteCount, root: root)
        recorder.end(seq)
    }

    public func allGather(_ send: UnsafeRawPointer, byteCounts: [Int], into receive: UnsafeMutableRawPointer) throws {
        let seq = recorder.begin(.allGather, bytes: byteCounts.reduce(0, +))
        try inner.allGather(send, byteCounts: byteCounts, into: receive)
        recorder.end(seq)
    }

    public func shareParameters(count: Int, stateCount: Int, values: UnsafePointer<Float>,
                                state: UnsafePointer<Float>) throws -> SharedParameters? {
        try inner.shareParameters(count: count, stateCount: stateCount, values: values, state: state)
    }

    public func prepareSums(count: Int) throws -> Bool {
        try inner.prepareSums(count: count)
    }

    public func reduce(_ shared: SharedParameters, scalars: UnsafeMutableBufferPointer<Double>, clearing: Bool) throws {
        let seq = recorder.begin(.sharedSum, bytes: shared.count * MemoryLayout<Float>.size)
        try inner.reduce(shared, scalars: scalars, clearing: clearing)
        recorder.end(seq)
    }

    public func finish(_ shared: SharedParameters) throws {
        let seq = recorder.begin(.sharedBarrier, bytes: 0)
        try inner.finish(shared)
        recorder.end(seq)
    }

    public func barrier() throws {
        let seq = recorder.begin(.barrier, bytes: 0)
        try inner.barrier()
        recorder.end(seq)
    }

    /// Writes this rank's flight record (reason `abort`), then aborts the job.
    public func abort(_ message: String, code: Int32) -> Never {
        recorder.dump(reason: "abort", message: message, replacing: false)
        inner.abort(message, code: code)
    }

    private func complete(_ request: Request) {
        request.done = true
        recorder.end(request.seq)
    }

    private static func own(_ request: CommunicatorRequest) -> Request {
        guard let request = request as? Request else { preconditionFailure("request of another communicator") }
        return request
    }
}
