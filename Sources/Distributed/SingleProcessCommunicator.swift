import Foundation

/// A world of one process: every collective is the identity.
///
/// Used when the program runs without `mpirun`, and in single-process tests.
public final class SingleProcessCommunicator: Communicator {
    private final class Done: CommunicatorRequest {}

    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public var hostName: String { ProcessInfo.processInfo.hostName }
    public var libraryVersion: String { "none (single process, not started by mpirun)" }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp) throws {}
    public func startAllReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp,
                               reusing: CommunicatorRequest?) throws -> CommunicatorRequest { reusing ?? Done() }
    public func test(_ request: CommunicatorRequest) throws -> Bool { true }
    public func wait(_ request: CommunicatorRequest) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int) throws {}

    public func allGather(_ send: UnsafeRawPointer, byteCounts: [Int], into receive: UnsafeMutableRawPointer) throws {
        if byteCounts[0] > 0, send != UnsafeRawPointer(receive) {
            receive.copyMemory(from: send, byteCount: byteCounts[0])
        }
    }

    public func barrier() throws {}

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
        exit(code)
    }
}
