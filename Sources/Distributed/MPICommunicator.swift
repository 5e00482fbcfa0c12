import CHalf
import CMPI
import Foundation

/// The MPI world: the only code in the project that talks to MPI.
///
/// `MPICommunicator.initialize()` is called once by the executable, before
/// any other MPI call; `finalize()` at a normal end. Every MPI return code is
/// checked and turned into a `CommunicatorError` with `MPI_Error_string`'s text.
public final class MPICommunicator: Communicator {
    private typealias Request = ProgressThread.Request

    private let comm: MPI_Comm
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    public let hostName: String
    /// Advances non-blocking all-reduces while the rank computes; every MPI call takes its lock.
    private let progress = ProgressThread()
    /// Blocking float sums through shared memory, where every rank is on this host and the host
    /// has more ranks than cores (`DDP_TRAIN_SHARED_SUM`: 1 forces it on one host, 0 turns it off).
    private var sharedSum: SharedMemorySum?
    /// Every window of shared parameters made (freed at the end of MPI).
    private var sharedParameters: [SharedParameters] = []

    /// Initialises MPI (thread level serialized: a progress thread takes turns with the
    /// training thread) and returns the world communicator.
    ///
    /// Open MPI 4's non-blocking all-reduce (libnbc) reduces to rank 0 and broadcasts back,
    /// so every byte crosses the network twice in turn, whenever there are fewer than 4 ranks
    /// or the buffer is reduced in place, which gradient buckets always are. Unless the user
    /// chose otherwise, it takes Rabenseifner's reduce-scatter and all-gather instead (each
    /// rank sends about its buffer's size in all; a ring where the buffer has fewer elements
    /// than ranks). Measured in docs/benchmarks-log.md: 2 ranks at 100 Mbit/s, an mlp step 320 ms
    /// before, 182 ms after. Every rank still ends with the same sums.
    public static func initialize() throws -> MPICommunicator {
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0)
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, cmpi_thread_serialized(), &provided)
        if rc != cmpi_success() { throw CommunicatorError(call: "MPI_Init_thread", reason: errorString(rc)) }
        let world = try MPICommunicator(comm: cmpi_comm_world())
        // DDP_TRAIN_PROGRESS_THREAD=0 leaves progress to the training thread's own MPI calls.
        if provided >= cmpi_thread_serialized(), world.size > 1,
           ProcessInfo.processInfo.environment["DDP_TRAIN_PROGRESS_THREAD"] != "0" {
            world.progress.start()
        }
        let setting = ProcessInfo.processInfo.environment["DDP_TRAIN_SHARED_SUM"]
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if world.size > 1, world.localSize == world.size, setting != "0", setting == "1" || world.localSize > cores {
            world.sharedSum = SharedMemorySum(comm: world.comm, rank: world.rank, size: world.size,
                                              oversubscribed: world.localSize > cores)
        }
        return world
    }

    /// Whether this process was started by an MPI launcher (mpirun, srun --mpi=pmix, ...).
    ///
    /// `DDP_TRAIN_MPI=1` forces MPI (a singleton world), `DDP_TRAIN_MPI=0` forbids it.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        if let force = env["DDP_TRAIN_MPI"] { return force == "1" }
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
            || env["PMI_RANK"] != nil || env["PMI_SIZE"] != nil
    }

    /// The MPI library's version string; valid before `initialize()`.
    public static var mpiLibraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        _ = MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }.filter { $0 != 0 },
                          as: UTF8.self)
        return text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? text
    }

    public var libraryVersion: String { Self.mpiLibraryVersion }

    private init(comm: MPI_Comm) throws {
        self.comm = comm
        try Self.check(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)

        var local: MPI_Comm? = cmpi_comm_null()
        try Self.check(MPI_Comm_split_type(comm, cmpi_comm_type_shared(), r, cmpi_info_null(), &local),
                       "MPI_Comm_split_type")
        var lr: Int32 = 0, ls: Int32 = 1
        try Self.check(MPI_Comm_rank(local, &lr), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(local, &ls), "MPI_Comm_size")
        _ = MPI_Comm_free(&local)
        localRank = Int(lr)
        localSize = Int(ls)

        var name = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        try Self.check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Ends MPI at a normal exit.
    public func finalize() {
        sharedSum?.free()
        for shared in sharedParameters { shared.free() }
        progress.stop()
        _ = MPI_Finalize()
    }

    // MARK: - Collectives

    public func shareParameters(count: Int, stateCount: Int, values: UnsafePointer<Float>,
                                state: UnsafePointer<Float>) throws -> SharedParameters? {
        // DDP_TRAIN_SHARED_PARAMETERS=0 keeps a copy per rank (gradients still summed in the window).
        guard let sharedSum, sharedSum.unavailable == nil, count > 0,
              ProcessInfo.processInfo.environment["DDP_TRAIN_SHARED_PARAMETERS"] != "0" else { return nil }
        let bytes = SharedParameters.layout(count: count, stateCount: stateCount, size: size).total
        guard bytes <= SharedMemorySum.maxWindowBytes else { return nil }
        switch try HostWindow.allocate(comm: comm, rank: rank, size: size, byteCount: bytes,
                                       oversubscribed: sharedSum.oversubscribed) {
        case .success(let window):
            let shared = SharedParameters(window: window, rank: rank, size: size, count: count, stateCount: stateCount)
            try shared.adopt(values: values, state: state)
            sharedParameters.append(shared)
            return shared
        case .failure(let why):
            if rank == 0 {
                FileHandle.standardError.write(Data(("warning: every rank keeps its own copy of the parameters: no " +
                                                     "shared-memory window (\(why.reason))\n").utf8))
            }
            return nil
        }
    }

    public func prepareSums(count: Int) throws -> Bool {
        guard let sharedSum, sharedSum.fits(count) else { return false }
        return try progress.locked { try sharedSum.reserve(count) }
    }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp) throws {
        if kind == .float, op == .sum, let sharedSum, sharedSum.fits(count),
           try progress.locked({ try sharedSum.sum(buffer.assumingMemoryBound(to: Float.self), count: count) }) {
            return
        }
        let datatype = Self.datatype(kind), mpiOp = try Self.mpiOp(op, kind)
        try progress.locked {
            try Self.check(MPI_Allreduce(cmpi_in_place(), buffer, Int32(count), datatype, mpiOp, comm), "MPI_Allreduce")
        }
    }

    public func startAllReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind, op: ReduceOp,
                               reusing: CommunicatorRequest?) throws -> CommunicatorRequest {
        let datatype = Self.datatype(kind), mpiOp = try Self.mpiOp(op, kind)
        return try progress.locked {
            // A finished request is reused (no allocation per step); one still running is not.
            let request: Request
            if let old = reusing as? Request, old.done { request = old } else { request = Request() }
            request.done = false
            request.failure = 0
            try Self.check(
                MPI_Iallreduce(cmpi_in_place(), buffer, Int32(count), datatype, mpiOp, comm, &request.handle),
                    "MPI_Iallreduce")
            progress.watch(request)
            return request
        }
    }

    public func test(_ request: CommunicatorRequest) throws -> Bool {
        guard let request = request as? Request else { preconditionFailure("request of another communicator") }
        return try progress.locked {
            request.poll()
            try Self.check(request.failure, "MPI_Test")
            return request.done
        }
    }

    public func wait(_ request: CommunicatorRequest) throws {
        guard let request = request as? Request else { preconditionFailure("request of another communicator") }
        try progress.locked {
            if !request.done {
                request.failure = MPI_Wait(&request.handle, cmpi_status_ignore())
                request.done = true
            }
            try Self.check(request.failure, "MPI_Wait")
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, byteCount: Int, root: Int) throws {
        try progress.locked {
            try Self.check(MPI_Bcast(buffer, Int32(byteCount), cmpi_byte(), Int32(root), comm), "MPI_Bcast")
        }
    }

    public func allGather(_ send: UnsafeRawPointer, byteCounts: [Int], into receive: UnsafeMutableRawPointer) throws {
        precondition(byteCounts.count == size, "allGather: \(byteCounts.count) counts for \(size) ranks")
        let counts = byteCounts.map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        try progress.locked {
            try Self.check(
                MPI_Allgatherv(send, counts[rank], cmpi_byte(), receive, counts, displacements, cmpi_byte(), comm),
                "MPI_Allgatherv")
        }
    }

    public func barrier() throws {
        try progress.locked { try Self.check(MPI_Barrier(comm), "MPI_Barrier") }
    }

    public func abort(_ message: String, code: Int32) -> Never {
        let prefix = size > 1 ? "rank \(rank): " : ""
        FileHandle.standardError.write(Data((prefix + message + (message.hasSuffix("\n") ? "" : "\n")).utf8))
        _ = MPI_Abort(comm, code)
        exit(code)
    }

    // MARK: - Helpers

    private static func datatype(_ kind: ScalarKind) -> MPI_Datatype? {
        switch kind {
        case .float: return cmpi_float()
        case .double: return cmpi_double()
        case .int64: return cmpi_int64()
        case .int32: return cmpi_int32()
        case .byte: return cmpi_byte()
        case .bfloat16, .float16: return cmpi_uint16()
        }
    }

    /// Sums of 16-bit floats: user operations on `MPI_UINT16_T`, each pair added in float32
    /// and rounded back (created on first use, after `MPI_Init`).
    nonisolated(unsafe) private static var halfSums: (bfloat16: MPI_Op?, float16: MPI_Op?)?

    private static func mpiOp(_ op: ReduceOp, _ kind: ScalarKind) throws -> MPI_Op? {
        if kind == .bfloat16 || kind == .float16 {
            guard op == .sum else { throw CommunicatorError(call: "MPI_Op", reason: "16-bit floats are only summed") }
            if halfSums == nil {
                var bf: MPI_Op? = nil, fp: MPI_Op? = nil
                try check(MPI_Op_create({ input, output, length, _ in
                    half_bf16_sum(input!.assumingMemoryBound(to: UInt16.self),
                                  output!.assumingMemoryBound(to: UInt16.self), Int(length!.pointee))
                }, 1, &bf), "MPI_Op_create")
                try check(MPI_Op_create({ input, output, length, _ in
                    half_fp16_sum(input!.assumingMemoryBound(to: UInt16.self),
                                  output!.assumingMemoryBound(to: UInt16.self), Int(length!.pointee))
                }, 1, &fp), "MPI_Op_create")
                halfSums = (bf, fp)
            }
            return kind == .bfloat16 ? halfSums!.bfloat16 : halfSums!.float16
        }
        switch op {
        case .sum: return cmpi_op_sum()
        case .max: return cmpi_op_max()
        case .min: return cmpi_op_min()
        }
    }

    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        _ = MPI_Error_string(code, &buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func check(_ code: Int32, _ call: String) throws {
        if code != cmpi_success() { throw CommunicatorError(call: call, reason: errorString(code)) }
    }
}
