import Tensor

/// Retrieval on the test set with the features `h` as embeddings, as pytorch-metric-learning's
/// AccuracyCalculator defines it (queries = references, a query never retrieves itself,
/// Euclidean distance on the raw features, the mean over queries): `precision_at_1`,
/// `r_precision` and `map_at_r`, where R is the number of other test samples of the query's
/// class. Computed per class as well (the mean over that class's queries). A query whose
/// class has no other sample is not counted.
public struct RetrievalMetrics: Sendable, Equatable, Codable {
    public var precisionAt1: Double
    public var rPrecision: Double
    public var mapAtR: Double
    public var precisionAt1PerClass: [Double]
    public var rPrecisionPerClass: [Double]
    public var mapAtRPerClass: [Double]

    /// Per-class sums over queries: `[p@1 (K), r-precision (K), map@r (K), queries (K)]`, so
    /// that shards of the queries add up (the ranks all-reduce them). Blocks of queries take
    /// their distances to all references from one matrix product; the queries of a block are
    /// ranked in parallel (`Parallel.threads`).
    public static func sums(queries: [Int], embeddings x: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                            count n: Int,
                            dimension d: Int, classes k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: 4 * k)
        guard n > 1, !queries.isEmpty else { return out }
        var perClass = [Int](repeating: 0, count: k)
        for i in 0..<n { perClass[Int(labels[i])] += 1 }
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n { var s: Float = 0; for j in 0..<d { s += x[i * d + j] * x[i * d + j] }; norms[i] = s }
        let block = 256
        let dots = Tensor(shape: [min(block, queries.count), n])
        let q = Tensor(shape: [min(block, queries.count), d])
        // Per query of a block: precision@1, R-precision, AP@R (NaN: not counted).
        var results = [Double](repeating: 0, count: 3 * block)
        var start = 0
        while start < queries.count {
            let rows = min(block, queries.count - start)
            for r in 0..<rows { (q.data + r * d).update(from: x + queries[start + r] * d, count: d) }
            BLAS.gemm(transB: true, m: rows, n: n, k: d, a: q.data, lda: d, b: x, ldb: d, c: dots.data, ldc: n)
            results.withUnsafeMutableBufferPointer { res in
                let res = UnsafeMutablePointerBox(res.baseAddress!)
                norms.withUnsafeBufferPointer { nb in
                    let norm = nb.baseAddress!
                    Parallel.forEach(rows, grain: 16) { range in
                        var distances = [Float](repeating: 0, count: n)
                        var keys = [UInt64](repeating: 0, count: n), scratch = keys, sample = [Float]()
                        for r in range {
                            let query = queries[start + r], y = labels[query]
                            let relevant = perClass[Int(y)] - 1
                            guard relevant > 0 else { res.pointer[3 * r] = .nan; continue }
                            let dot = dots.data + r * n
                            for j in 0..<n { distances[j] = max(norm[query] + norm[j] - 2 * dot[j], 0) }
                            distances[query] = .infinity  // never its own neighbour
                            let m = Self.rankNearest(relevant, distances: &distances, keys: &keys, sample: &sample,
                                                     scratch: &scratch)
                            var hits = 0, ap = 0.0
                            for rank in 0..<m where labels[Int(keys[rank] & 0xffff_ffff)] == y {
                                hits += 1
                                ap += Double(hits) / Double(rank + 1)
                            }
                            res.pointer[3 * r] = labels[Int(keys[0] & 0xffff_ffff)] == y ? 1 : 0
                            res.pointer[3 * r + 1] = Double(hits) / Double(relevant)
                            res.pointer[3 * r + 2] = ap / Double(relevant)
                        }
                    }
                }
            }
            for r in 0..<rows where !results[3 * r].isNaN {
                let y = Int(labels[queries[start + r]])
                out[y] += results[3 * r]
                out[k + y] += results[3 * r + 1]
                out[2 * k + y] += results[3 * r + 2]
                out[3 * k + y] += 1
            }
            start += rows
        }
        return out
    }

    /// Puts the `r` nearest references into `keys[0..<r]`, nearest first (ties by index), each
    /// key the distance's bits (non-negative floats order as their bits) above the index.
    ///
    /// Only candidates need keys: a threshold from a sample of the distances (its quantile a
    /// quarter above r / n, plus a margin, found by selection) keeps about 1.25 r of the n, and
    /// when at least r distances lie at or below it, the r nearest are among them (each is at
    /// most the r-th smallest distance, which is at most the threshold). Otherwise every
    /// distance is a candidate. The candidates, written in index order without a branch, are
    /// then sorted stably by distance (a radix sort), which orders them by key. `keys` and
    /// `scratch` grow to n once; no allocation after that.
    static func rankNearest(_ r: Int, distances: inout [Float], keys: inout [UInt64], sample: inout [Float],
                            scratch: inout [UInt64]) -> Int {
        let n = distances.count
        if keys.count < n { keys = [UInt64](repeating: 0, count: max(n, 2 * keys.count)) }
        var threshold = Float.infinity
        let samples = 256
        if n > 4 * samples, r < n / 2 {
            if sample.count != samples { sample = [Float](repeating: 0, count: samples) }
            let stride = n / samples
            for i in 0..<samples { sample[i] = distances[i * stride] }
            let index = min(samples - 1, (5 * r * samples) / (4 * n) + 8)
            threshold = sample.withUnsafeMutableBufferPointer { Self.select(index, in: $0) }
        }
        func candidates(below threshold: Float) -> Int {
            distances.withUnsafeBufferPointer { d in
                keys.withUnsafeMutableBufferPointer { k in
                    var m = 0
                    for j in 0..<n {
                        k[m] = UInt64(d[j].bitPattern) << 32 | UInt64(j)
                        m += d[j] <= threshold ? 1 : 0
                    }
                    return m
                }
            }
        }
        var m = candidates(below: threshold)
        if m < r { m = candidates(below: .infinity) }
        // The candidates are in index order: a stable sort by distance puts them in key order.
        Self.radixSortByHighWord(&keys, count: m, scratch: &scratch)
        return r
    }

    /// The `k`-th smallest element of `a` (0-based), by selection (Hoare's partitions, median of
    /// three); `a` is reordered.
    static func select<T: Comparable>(_ k: Int, in a: UnsafeMutableBufferPointer<T>) -> T {
        var lo = 0, hi = a.count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while pivot < a[j] { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            // a[lo...j] <= pivot <= a[i...hi], and everything strictly between equals the pivot.
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }

    /// Sorts `keys[0..<count]` (all of them by default), which arrive in ascending order of
    /// their low words, by their high words, stably, so that they end in ascending order: least
    /// significant digit first, 8 bits a pass, a pass skipped when every key has the same digit
    /// there (distances of one query share their top bits). `scratch` grows once; the counts
    /// live on the stack.
    static func radixSortByHighWord(_ keys: inout [UInt64], count: Int? = nil, scratch: inout [UInt64]) {
        let m = count ?? keys.count
        guard m > 1 else { return }
        if scratch.count < m { scratch = [UInt64](repeating: 0, count: max(m, 2 * scratch.count)) }
        keys.withUnsafeMutableBufferPointer { a in
            scratch.withUnsafeMutableBufferPointer { b in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { count in
                    var src = a.baseAddress!, dst = b.baseAddress!
                    for shift in stride(from: UInt64(32), to: 64, by: 8) {
                        count.initialize(repeating: 0)
                        for i in 0..<m { count[Int((src[i] >> shift) & 0xff)] += 1 }
                        if count[Int((src[0] >> shift) & 0xff)] == m { continue }
                        var sum = 0
                        for d in 0..<256 { let c = count[d]; count[d] = sum; sum += c }
                        for i in 0..<m {
                            let d = Int((src[i] >> shift) & 0xff)
                            dst[count[d]] = src[i]
                            count[d] += 1
                        }
                        swap(&src, &dst)
                    }
                    if src != a.baseAddress! { a.baseAddress!.update(from: src, count: m) }
                }
            }
        }
    }

    public init(precisionAt1: Double, rPrecision: Double, mapAtR: Double, precisionAt1PerClass: [Double],
                rPrecisionPerClass: [Double], mapAtRPerClass: [Double]) {
        (self.precisionAt1, self.rPrecision, self.mapAtR) = (precisionAt1, rPrecision, mapAtR)
        (self.precisionAt1PerClass, self.rPrecisionPerClass, self.mapAtRPerClass) = (precisionAt1PerClass,
                                                                                     rPrecisionPerClass, mapAtRPerClass)
    }

    /// The metrics from summed `sums`.
    public init(sums s: [Double], classes k: Int) {
        var total = [0.0, 0.0, 0.0], queries = 0.0
        func mean(_ part: Int, _ c: Int) -> Double { s[3 * k + c] > 0 ? s[part * k + c] / s[3 * k + c] : 0 }
        for c in 0..<k {
            for part in 0..<3 { total[part] += s[part * k + c] }
            queries += s[3 * k + c]
        }
        precisionAt1 = queries > 0 ? total[0] / queries : 0
        rPrecision = queries > 0 ? total[1] / queries : 0
        mapAtR = queries > 0 ? total[2] / queries : 0
        precisionAt1PerClass = (0..<k).map { mean(0, $0) }
        rPrecisionPerClass = (0..<k).map { mean(1, $0) }
        mapAtRPerClass = (0..<k).map { mean(2, $0) }
    }
}

/// A pointer handed to the parallel loop; each thread writes its own rows.
struct UnsafeMutablePointerBox: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
}
