import CBLAS
import Testing
@testable import Tensor

/// A naive row-major product used as the reference for sgemm.
func naiveGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Float], b: [Float]) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = transA ? a[p * m + i] : a[i * k + p]
                let bv = transB ? b[j * k + p] : b[p * n + j]
                s += Double(av) * Double(bv)
            }
            c[i * n + j] = s
        }
    }
    return c
}

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaiveProduct(transA: Bool, transB: Bool) {
        var rng = RandomSource(seed: 7)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (64, 33, 129), (130, 70, 257)] {
            let a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
            let b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
            var c = [Float](repeating: 0.5, count: m * n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2,
                                  a: pa.baseAddress!, lda: transA ? m : k,
                                  b: pb.baseAddress!, ldb: transB ? k : n,
                                  beta: 1, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            let want = naiveGemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b)
            for i in 0..<(m * n) {
                #expect(abs(Double(c[i]) - (2 * want[i] + 0.5)) <= 1e-4 * Double(k),
                        "m=\(m) n=\(n) k=\(k) at \(i) with kernel \(BLASRuntime.coreName)")
            }
        }
    }

    /// beta 0 ignores what C held (NaN here), with a leading dimension wider than the product
    /// (the columns beyond it stay untouched), with the process's OpenBLAS threads (C cleared
    /// by `BLAS.gemm` on one thread, by OpenBLAS on more). The count is not changed here: it is
    /// the whole process's, and tests running beside this one (OverwriteModeTests compares two
    /// passes of the same products) would see their products split differently between passes.
    /// The one-thread case runs under mpirun, one BLAS thread per rank (Tests/mpi).
    @Test func betaZeroIgnoresC() {
        checkBetaZero(threads: Int(openblas_get_num_threads()))
    }

    func checkBetaZero(threads: Int) {
        var rng = RandomSource(seed: 11)
        let m = 37, n = 45, k = 19, ldc = 50
        let a = (0..<(m * k)).map { _ in rng.nextUniform() * 2 - 1 }
        let b = (0..<(k * n)).map { _ in rng.nextUniform() * 2 - 1 }
        var c = [Float](repeating: .nan, count: m * ldc)
        for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = 7 } }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                              beta: 0, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        let want = naiveGemm(transA: false, transB: false, m: m, n: n, k: k, a: a, b: b)
        for i in 0..<m {
            for j in 0..<ldc {
                if j < n {
                    #expect(abs(Double(c[i * ldc + j]) - want[i * n + j]) <= 1e-4 * Double(k),
                            "at (\(i), \(j)) on \(threads) threads")
                } else {
                    #expect(c[i * ldc + j] == 7, "column \(j) beyond n was written on \(threads) threads")
                }
            }
        }
    }

    static let avx512 = CPUFeatures(cpuinfo: "model name\t: Test CPU\nflags\t\t: fpu sse2 avx avx2 " +
                                             "fma avx512f avx512bw\n")
    /// AMD Zen 5 (EPYC family 26), which OpenBLAS 0.3.21 does not know by name.
    static let zen5 = CPUFeatures(cpuinfo: "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma avx512f " +
                                           "avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni\n")
    static let avx2 = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 avx avx2 fma\n")
    static let old = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 sse4_2\n")

    @Test func kernelChoiceFollowsCPU() {
        #expect(Self.avx512.avx512f && !Self.avx512.avx512bf16 && Self.avx512.modelName == "Test CPU")
        #expect(Self.zen5.avx512bf16)
        #expect(BLASRuntime.betterCoreType(for: Self.avx512, current: "Prescott") == "SkylakeX")
        #expect(BLASRuntime.betterCoreType(for: Self.avx512, current: "Haswell") == "SkylakeX")
        #expect(BLASRuntime.betterCoreType(for: Self.avx512, current: "SkylakeX") == nil)
        #expect(BLASRuntime.betterCoreType(for: Self.zen5, current: "Prescott") == "Cooperlake")
        #expect(BLASRuntime.betterCoreType(for: Self.zen5, current: "Zen") == "Cooperlake")
        #expect(BLASRuntime.betterCoreType(for: Self.zen5, current: "Cooperlake") == nil)
        #expect(BLASRuntime.betterCoreType(for: Self.zen5, current: "SkylakeX") == nil)
        #expect(BLASRuntime.betterCoreType(for: Self.avx2, current: "Prescott") == "Haswell")
        #expect(BLASRuntime.betterCoreType(for: Self.avx2, current: "Zen") == nil)
        #expect(BLASRuntime.betterCoreType(for: Self.avx2, current: "Haswell") == nil)
        #expect(BLASRuntime.betterCoreType(for: Self.old, current: "Prescott") == nil)
    }

    @Test func runnableKernelsFollowCPU() {
        #expect(BLASRuntime.runnableKernels(for: Self.zen5) == ["Haswell", "Zen", "SkylakeX", "Cooperlake"])
        #expect(BLASRuntime.runnableKernels(for: Self.avx512) == ["Haswell", "Zen", "SkylakeX"])
        #expect(BLASRuntime.runnableKernels(for: Self.avx2) == ["Haswell", "Zen"])
        #expect(BLASRuntime.runnableKernels(for: Self.old).isEmpty)
    }

    /// A user's OPENBLAS_CORETYPE is honoured: narrower gives a warning naming what would fit,
    /// a kernel the CPU cannot run is refused, the right one says nothing.
    @Test func userCoreTypeIsJudged() {
        let narrower = BLASRuntime.judge(userCoreType: "Haswell", running: "Haswell", cpu: Self.zen5)
        #expect(narrower == .narrower(set: "Haswell", running: "Haswell", wouldFit: "Cooperlake"))
        #expect(narrower.message?.contains("OPENBLAS_CORETYPE=Cooperlake") == true)
        #expect(BLASRuntime.judge(userCoreType: "SkylakeX", running: "SkylakeX", cpu: Self.zen5) == .fits)
        #expect(BLASRuntime.judge(userCoreType: "haswell", running: "Haswell", cpu: Self.avx2) == .fits)
        let fatal = BLASRuntime.judge(userCoreType: "SkylakeX", running: "SkylakeX", cpu: Self.avx2)
        #expect(fatal == .cannotRun(set: "SkylakeX", fits: "Haswell"))
        #expect(fatal.message?.contains("illegal instruction") == true)
        #expect(BLASRuntime.judge(userCoreType: "Cooperlake", running: "Cooperlake",
                                  cpu: Self.avx512) == .cannotRun(set: "Cooperlake", fits: "SkylakeX"))
        // A name OpenBLAS does not know: it runs its own choice, judged by what runs.
        #expect(BLASRuntime.judge(userCoreType: "Nonsense", running: "Prescott",
                                  cpu: Self.avx2) == .narrower(set: "Nonsense", running: "Prescott",
                                                               wouldFit: "Haswell"))
        #expect(BLASRuntime.judge(userCoreType: "Nonsense", running: "Haswell", cpu: Self.avx2) == .fits)
    }
}

@Suite struct RandomSourceTests {
    @Test func sameSeedSameStream() {
        var a = RandomSource(seed: 42), b = RandomSource(seed: 42), c = RandomSource(seed: 43)
        let xa = (0..<8).map { _ in a.next() }, xb = (0..<8).map { _ in b.next() }, xc = (0..<8).map { _ in c.next() }
        #expect(xa == xb)
        #expect(xa != xc)
        var s1 = RandomSource(seed: 1, stream: [2, 3]), s2 = RandomSource(seed: 1, stream: [3, 2])
        #expect(s1.next() != s2.next())
    }

    @Test func uniformAndNormalMoments() {
        var rng = RandomSource(seed: 3)
        let n = 200_000
        var su = 0.0, sn = 0.0, sn2 = 0.0
        for _ in 0..<n {
            let u = Double(rng.nextUniform())
            #expect(u >= 0 && u < 1)
            su += u
            let z = rng.nextNormal()
            sn += z
            sn2 += z * z
        }
        #expect(abs(su / Double(n) - 0.5) < 0.005)
        #expect(abs(sn / Double(n)) < 0.01)
        #expect(abs(sn2 / Double(n) - 1) < 0.02)
    }

    @Test func shuffleIsAPermutation() {
        var rng = RandomSource(seed: 9)
        var v = Array(0..<1000)
        rng.shuffle(&v)
        #expect(v != Array(0..<1000))
        #expect(v.sorted() == Array(0..<1000))
    }
}
