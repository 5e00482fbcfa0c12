import CBLAS

/// Matrix products through OpenBLAS's `cblas_sgemm`, row-major.
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major.
    ///
    /// - a: (m, k) if not `transA`, else (k, m), leading dimension `lda`
    /// - b: (k, n) if not `transB`, else (n, k), leading dimension `ldb`
    /// - c: (m, n), leading dimension `ldc`
    ///
    /// With `beta` 0 on one BLAS thread, C is cleared here and OpenBLAS is called with beta 1:
    /// OpenBLAS 0.3.21 clears C in a scalar pass of its own first, which made a weight gradient
    /// (512 x 784, k = 64) take 747 us instead of 627 and an unfolded-column gradient
    /// (144 x 3640, k = 16) 405 us instead of 249 on one Zen core. With several threads each
    /// clears its own part of C, in its own cache; clearing all of C here would move the other
    /// threads' parts between cores (mlp on two threads: 25k -> 20k samples/s when the VM's
    /// cores exchange data slowly), so OpenBLAS keeps beta 0 there.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        var beta = beta
        if beta == 0, openblas_get_num_threads() == 1 {
            if ldc == n {
                c.update(repeating: 0, count: m * n)
            } else {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            }
            beta = 1
        }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y += alpha * x` over `count` floats, on the calling thread. (The callers add a batch's
    /// gradients, tens of kilobytes. OpenBLAS's saxpy hands more than 10,000 floats to its
    /// threads, which then spin in `sched_yield` for about 0.1 s waiting for more: once a step,
    /// that kept a core a third busy beside oneDNN's threads in every convolution; see
    /// docs/benchmarks-log.md.)
    @inlinable
    public static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }
}
