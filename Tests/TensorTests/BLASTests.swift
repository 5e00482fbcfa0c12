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
                #expect(abs(Double(c[i]) - (2 * want[i] + 0.5)) <= 1e-4 * Double(k), "m=\(m) n=\(n) k=\(k) at \(i) with kernel \(BLASRuntime.coreName)")
            }
        }
    }

    /// beta 0 ignores what C held (NaN here), with a leading dimension wider than the product
    /// (the columns beyond it stay untouched), on one thread (C cleared by `BLAS.gemm`) and on
    /// two (cleared by OpenBLAS).
    @Test(arguments: [1, 2])
    func betaZeroIgnoresC(threads: Int) {
        // OpenBLAS's count only: `BLASRuntime.setThreads` would also change `Parallel.threads`,
        // which sizes the convolution chunks other tests are running with.
        let before = openblas_get_num_threads()
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(before) }
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
                    #expect(abs(Double(c[i * ldc + j]) - want[i * n + j]) <= 1e-4 * Double(k), "at (\(i), \(j))")
                } else {
                    #expect(c[i * ldc + j] == 7, "column \(j) beyond n was written")
                }
            }
        }
    }

    @Test func kernelChoiceFollowsCPU() {
        let avx512 = CPUFeatures(cpuinfo: "model name\t: Test CPU\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n")
        let avx2 = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 avx avx2 fma\n")
        let old = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 sse4_2\n")
        #expect(avx512.avx512f && avx512.modelName == "Test CPU")
        #expect(BLASRuntime.betterCoreType(for: avx512, current: "Prescott") == "SkylakeX")
        #expect(BLASRuntime.betterCoreType(for: avx512, current: "Haswell") == "SkylakeX")
        #expect(BLASRuntime.betterCoreType(for: avx512, current: "SkylakeX") == nil)
        #expect(BLASRuntime.betterCoreType(for: avx2, current: "Prescott") == "Haswell")
        #expect(BLASRuntime.betterCoreType(for: avx2, current: "Zen") == nil)
        #expect(BLASRuntime.betterCoreType(for: old, current: "Prescott") == nil)
    }

    @Test func runningKernelFitsThisCPU() {
        #expect(BLASRuntime.betterCoreType(for: .current, current: BLASRuntime.coreName) == nil,
                "OpenBLAS runs \(BLASRuntime.coreName); run tests through launch/test.sh or set OPENBLAS_CORETYPE")
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
