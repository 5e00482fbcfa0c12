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
    }

    /// Kernels that use the CPU's wide vector units.
    static let fastKernels: Set<String> = ["skylakex", "cooperlake", "sapphirerapids", "haswell", "zen"]
    static let avx512Kernels: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The `OPENBLAS_CORETYPE` that fits `cpu` better than `core`, or nil when `core` fits.
    public static func betterCoreType(for cpu: CPUFeatures, current core: String) -> String? {
        let core = core.lowercased()
        if cpu.avx512f, !avx512Kernels.contains(core) { return "SkylakeX" }
        if cpu.avx2, cpu.fma, !fastKernels.contains(core) { return "Haswell" }
        return nil
    }

    /// Re-executes the program with a fitting `OPENBLAS_CORETYPE` when OpenBLAS
    /// picked a generic kernel for this CPU; returns when nothing needs doing.
    ///
    /// Does nothing when the user set `OPENBLAS_CORETYPE`, or after one re-execution.
    public static func ensureFittingKernel() {
        let env = ProcessInfo.processInfo.environment
        if env["OPENBLAS_CORETYPE"] != nil { return }
        guard let wanted = betterCoreType(for: .current, current: coreName) else { return }
        if env["DDP_TRAIN_BLAS_REEXEC"] != nil {
            FileHandle.standardError.write(Data("warning: OpenBLAS still runs its \(coreName) kernel after OPENBLAS_CORETYPE=\(wanted); matrix products will be slow\n".utf8))
            return
        }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        setenv("DDP_TRAIN_BLAS_REEXEC", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the slow kernel.
        FileHandle.standardError.write(Data("warning: could not re-execute with OPENBLAS_CORETYPE=\(wanted) (errno \(errno)); matrix products will be slow\n".utf8))
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
