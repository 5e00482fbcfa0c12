/// Sums one value per rank in the order of Open MPI's recursive-doubling all-reduce, which its
/// `MPI_Allreduce` takes for the gradient buckets of one host (1 to 8 ranks measured, 133,898 and
/// 401,920 floats: the default gives the bits of `coll_tuned_allreduce_algorithm` 3). A sum through
/// shared memory in this order has the bits of one through MPI, so every sum path adds the same
/// terms in the same order, and N ranks on either path train alike.
///
/// The order, for n ranks and p the largest power of two not above n: the first 2(n - p) ranks'
/// values in adjacent pairs (r0 + r1, r2 + r3, ...), then the other ranks' values, p in all, summed
/// in a balanced binary tree in rank order: for 4 ranks (r0 + r1) + (r2 + r3), for 3 ranks
/// (r0 + r1) + r2, for 6 ranks ((r0 + r1) + (r2 + r3)) + (r4 + r5). Float addition is commutative,
/// so how MPI orders the two operands of each addition does not matter.
public enum RankOrderSum {
    /// The sum of `value(0) ... value(n - 1)` in recursive-doubling order; `stack` holds at least
    /// `levels(n)` values of scratch.
    @inline(__always)
    static func sum<T: RankSummable>(ranks n: Int, stack: UnsafeMutablePointer<T>, _ value: (Int) -> T) -> T {
        let p = 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount)
        let extra = n - p
        for j in 0..<p {
            var u = j < extra ? value(2 * j) + value(2 * j + 1) : value(j + extra)
            // A binary counter: each completed pair of subtrees of one size is joined.
            var level = 0, k = j
            while k & 1 == 1 {
                u = stack[level] + u
                level += 1
                k >>= 1
            }
            stack[level] = u
        }
        return stack[p.trailingZeroBitCount]
    }

    /// `value(0) + ... + value(n - 1)` in this order: what a sum over `n` ranks of those values gives.
    public static func sum(count n: Int, _ value: (Int) -> Float) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: levels(n)) { stack in
            sum(ranks: n, stack: stack.baseAddress!, value)
        }
    }

    /// Scratch values `sum` needs for `n` ranks.
    static func levels(_ n: Int) -> Int { Int.bitWidth - n.leadingZeroBitCount }

    /// `result[i] = sum over q of slot q's [i]` for `count` elements, slot q at `slots + q * stride`,
    /// in recursive-doubling order; with `clearing`, slots 1... are left zero where read. `result`
    /// may be slot 0. Memory-bound: each slot is read once, sixteen floats at a time.
    static func sum(slots: UnsafeMutablePointer<Float>, stride: Int, ranks n: Int, count: Int,
                    into result: UnsafeMutablePointer<Float>, clearing: Bool) {
        typealias V = SIMD16<Float>
        withUnsafeTemporaryAllocation(of: V.self, capacity: levels(n)) { vectors in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: levels(n)) { scalars in
                sum(slots: slots, stride: stride, ranks: n, count: count, into: result, clearing: clearing,
                    vectors: vectors.baseAddress!, scalars: scalars.baseAddress!)
            }
        }
    }

    private static func sum(slots: UnsafeMutablePointer<Float>, stride: Int, ranks n: Int, count: Int,
                            into result: UnsafeMutablePointer<Float>, clearing: Bool,
                            vectors: UnsafeMutablePointer<SIMD16<Float>>, scalars: UnsafeMutablePointer<Float>) {
        typealias V = SIMD16<Float>
        var i = 0
        while i + 16 <= count {
            let v = sum(ranks: n, stack: vectors) { q in
                UnsafeRawPointer(slots + q * stride + i).loadUnaligned(as: V.self)
            }
            UnsafeMutableRawPointer(result + i).storeBytes(of: v, as: V.self)
            if clearing {
                for q in 1..<max(n,
                                 1) { UnsafeMutableRawPointer(slots + q * stride + i).storeBytes(of: V(), as: V.self) }
            }
            i += 16
        }
        while i < count {
            result[i] = sum(ranks: n, stack: scalars) { q in slots[q * stride + i] }
            if clearing { for q in 1..<max(n, 1) { slots[q * stride + i] = 0 } }
            i += 1
        }
    }
}

/// What `RankOrderSum` adds: floats, doubles and sixteen floats at a time.
protocol RankSummable {
    static func + (a: Self, b: Self) -> Self
}

extension Float: RankSummable {}
extension Double: RankSummable {}
extension SIMD16: RankSummable where Scalar == Float {}
