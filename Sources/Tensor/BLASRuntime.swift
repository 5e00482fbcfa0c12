import CBLAS
import Foundation

/// OpenBLAS's run-time state: which kernel it chose and how many threads it uses.
///
/// Debian's OpenBLAS 0.3.21 does not recognise some recent CPUs and falls back
/// to its generic "Prescott" kernel (about 5x slower). OpenBLAS reads
/// `OPENBLAS_CORETYPE` only when it loads, so the fix is to re-execute the
/// program once with the variable set, before any BLAS work:
/// `BLASRuntime.ensureFittingKernel()` is the first thing `main` does.
public enum BLASRuntime {
    /// The kernel OpenBLAS chose, as `openblas_get_corename()` names it.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// Flushes denormal floats to zero in the calling thread (MXCSR FTZ and DAZ on x86):
    /// denormals make float arithmetic many times slower. The executable calls it first
    /// thing; `Parallel` repeats it in its worker threads.
    public static func flushDenormals() {
        cblas_shim_flush_denormals()
    }

    /// Flushes denormals here and in OpenBLAS's worker threads: they were started when the
    /// library loaded, before `main`, so the pool is restarted to inherit this thread's setting.
    public static func flushDenormalsEverywhere() {
        cblas_shim_flush_denormals()
        _ = blas_thread_shutdown_()
    }

    /// Whether sgemm, on all of its threads, flushes denormals: a product of 1e-20 x 1e-20
    /// terms is denormal at every partial sum and must come out as exactly 0.
    public static func sgemmFlushesDenormals(n: Int = 256) -> Bool {
        let a = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        a.fill(1e-20)
        BLAS.gemm(m: n, n: n, k: n, a: a.data, lda: n, b: a.data, ldb: n, c: c.data, ldc: n)
        return c.buffer.allSatisfy { $0 == 0 }
    }

    /// Whether the calling thread flushes denormals.
    public static var flushesDenormals: Bool { cblas_shim_mxcsr() & 0x8040 == 0x8040 }

    /// Threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the threads OpenBLAS uses for one call (at least 1).
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
        Parallel.threads = max(1, count)
        OneDNN.setThreads(max(1, count))
    }

    // MARK: - Kernel choice

    /// OpenBLAS kernels for x86-64 CPUs with wide vector units, narrowest first, with what
    /// each needs from the CPU. OpenBLAS 0.3.21 does not know AMD Zen 4 and 5 by name; it runs
    /// them as Cooper Lake (AVX-512 with bfloat16), which is what fits them.
    static let vectorKernels: [(name: String, width: Int, runs: @Sendable (CPUFeatures) -> Bool)] = [
        ("Haswell", 256, { $0.avx2 && $0.fma }),
        ("Zen", 256, { $0.avx2 && $0.fma }),
        ("SkylakeX", 512, { $0.avx512f }),
        ("Cooperlake", 512, { $0.avx512f && $0.avx512bf16 }),
        ("SapphireRapids", 512, { $0.avx512f && $0.avx512bf16 }),
    ]

    static func kernel(named name: String) -> (name: String, width: Int, runs: @Sendable (CPUFeatures) -> Bool)? {
        vectorKernels.first { $0.name.lowercased() == name.lowercased() }
    }

    /// Vector width in bits that `cpu` offers to OpenBLAS's kernels (0: neither AVX2 nor AVX-512).
    static func vectorWidth(of cpu: CPUFeatures) -> Int {
        cpu.avx512f ? 512 : (cpu.avx2 && cpu.fma ? 256 : 0)
    }

    /// The kernels of `vectorKernels` that `cpu` can run (the test scripts run the numerics under each).
    public static func runnableKernels(for cpu: CPUFeatures) -> [String] {
        vectorKernels.filter { $0.runs(cpu) && $0.name != "SapphireRapids" }.map(\.name)
    }

    /// The widest kernel `cpu` can run: Cooperlake with AVX-512 and bfloat16, SkylakeX with
    /// AVX-512, Haswell with AVX2 and FMA, nil otherwise (OpenBLAS's own choice stands).
    public static func fittingCoreType(for cpu: CPUFeatures) -> String? {
        if cpu.avx512f { return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX" }
        if cpu.avx2, cpu.fma { return "Haswell" }
        return nil
    }

    /// The `OPENBLAS_CORETYPE` that fits `cpu` better than the kernel `core` OpenBLAS runs,
    /// or nil when `core` uses the CPU's full vector width.
    public static func betterCoreType(for cpu: CPUFeatures, current core: String) -> String? {
        let width = kernel(named: core)?.width ?? 0
        guard width < vectorWidth(of: cpu) else { return nil }
        return fittingCoreType(for: cpu)
    }

    /// What a user's `OPENBLAS_CORETYPE` means on this CPU.
    public enum UserKernel: Equatable, Sendable {
        /// It uses the CPU's full vector width (or the program has nothing better).
        case fits
        /// It runs, but narrower than the CPU could: a warning, with the kernel that would fit.
        case narrower(set: String, running: String, wouldFit: String)
        /// The CPU lacks instructions the kernel uses: it would stop with an illegal instruction.
        case cannotRun(set: String, fits: String?)

        /// The message for the user, nil when the kernel fits.
        public var message: String? {
            switch self {
            case .fits:
                return nil
            case let .narrower(set, running, wouldFit):
                let kernel = set.lowercased() == running.lowercased()
                    ? "that kernel" : "OpenBLAS runs \(running) for it, which"
                return "OPENBLAS_CORETYPE=\(set) is set: \(kernel) is narrower than this CPU's vector units; " +
                       "OPENBLAS_CORETYPE=\(wouldFit), or leaving it unset, makes matrix products faster"
            case let .cannotRun(set, fits):
                let hint = fits.map { " Set OPENBLAS_CORETYPE=\($0) or unset it." } ?? " Unset it."
                return "OPENBLAS_CORETYPE=\(set) names a kernel whose instructions this CPU lacks: every matrix " +
                       "product would stop the program with an illegal instruction.\(hint)"
            }
        }
    }

    /// Judges the user's `OPENBLAS_CORETYPE` value `set`, which OpenBLAS runs as `running`.
    public static func judge(userCoreType set: String, running: String, cpu: CPUFeatures) -> UserKernel {
        if let wanted = kernel(named: set), !wanted.runs(cpu) {
            return .cannotRun(set: set, fits: fittingCoreType(for: cpu))
        }
        if let better = betterCoreType(for: cpu, current: running) {
            return .narrower(set: set, running: running, wouldFit: better)
        }
        return .fits
    }

    /// Makes OpenBLAS run a kernel that fits this CPU before any BLAS work, and returns what the
    /// user should be told (rank 0 prints it), nil when all is well.
    ///
    /// - A user's `OPENBLAS_CORETYPE` is honoured: narrower than the CPU could run gives a
    ///   warning; a kernel the CPU cannot run throws `BLASKernelError` (it would crash).
    /// - Otherwise, when OpenBLAS picked a generic kernel (Debian's 0.3.21 does not recognise
    ///   some recent CPUs), the program re-executes itself once with a fitting
    ///   `OPENBLAS_CORETYPE`: OpenBLAS reads it only when it loads. `DDP_TRAIN_FORCE_REEXEC=1`
    ///   takes that path on any CPU (with the kernel OpenBLAS would fit), so that the tests run
    ///   the program as such a CPU runs it.
    public static func ensureFittingKernel() throws -> String? {
        let env = ProcessInfo.processInfo.environment
        if env["DDP_TRAIN_BLAS_REEXEC"] == nil, let set = env["OPENBLAS_CORETYPE"], !set.isEmpty {
            let verdict = judge(userCoreType: set, running: coreName, cpu: .current)
            if case .cannotRun = verdict { throw BLASKernelError(message: verdict.message ?? "") }
            return verdict.message
        }
        let forced = env["DDP_TRAIN_FORCE_REEXEC"] == "1"
        guard let wanted = betterCoreType(for: .current, current: coreName)
                ?? (forced ? fittingCoreType(for: .current) ?? coreName : nil) else { return nil }
        if env["DDP_TRAIN_BLAS_REEXEC"] != nil {
            guard coreName.lowercased() != wanted.lowercased() else { return nil }
            return "OpenBLAS still runs its \(coreName) kernel after OPENBLAS_CORETYPE=\(wanted); matrix " +
                   "products will be slow"
        }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        setenv("DDP_TRAIN_BLAS_REEXEC", "1", 1)
        // The program's own file, not /proc/self/exe: the process keeps the name users, `ps`,
        // `pgrep` and Slurm's accounting know it by (the kernel names it after the file run).
        execv(executablePath, CommandLine.unsafeArgv)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the slow kernel.
        return "could not re-execute with OPENBLAS_CORETYPE=\(wanted) (errno \(errno)); matrix products will be slow"
    }

    /// The path of the running program's file (`/proc/self/exe` resolved), or `/proc/self/exe`
    /// where it cannot be resolved or the file is gone (replaced by a rebuild).
    public static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard n > 0 else { return "/proc/self/exe" }
        let path = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return access(path, X_OK) == 0 ? path : "/proc/self/exe"
    }

    /// Gives the process the name of its program's file again where a re-execution through
    /// `/proc/self/exe` named it `exe` (the path fallback above).
    public static func keepProcessName() {
        guard ProcessInfo.processInfo.environment["DDP_TRAIN_BLAS_REEXEC"] != nil,
              let current = try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8),
              current.trimmingCharacters(in: .whitespacesAndNewlines) == "exe",
              let program = CommandLine.arguments.first.map({ ($0 as NSString).lastPathComponent }), !program.isEmpty
        else { return }
        try? String(program.prefix(15)).write(toFile: "/proc/self/comm", atomically: false, encoding: .utf8)
    }

    /// BLAS threads per rank: the host's cores shared among the ranks on this
    /// host, but no more than the cores this process may run on.
    public static func defaultThreads(ranksOnHost: Int) -> Int {
        let online = ProcessInfo.processInfo.processorCount
        let allowed = ProcessInfo.processInfo.activeProcessorCount
        return max(1, min(allowed, online / max(1, ranksOnHost)))
    }

    /// GFLOP/s of one `n x n x n` sgemm with the current threads (best of `repeats`).
    public static func measureSgemm(n: Int = 1024, repeats: Int = 5) -> Double {
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        var rng = RandomSource(seed: 1)
        for i in 0..<(n * n) {
            a.data[i] = rng.nextUniform() - 0.5
            b.data[i] = rng.nextUniform() - 0.5
        }
        BLAS.gemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)  // warm-up
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.gemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}

/// A user's `OPENBLAS_CORETYPE` that this CPU cannot run.
public struct BLASKernelError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
