extension MetricLosses {
    /// Center loss (Wen et al. 2016): `lambda / 2 * mean_i |h_i - c_{y_i}|^2` on the raw features,
    /// its gradient `lambda / N (h_i - c_{y_i})`, and the centres after the step:
    /// `c_j -= alpha * sum_{i: y_i = j} (c_j - h_i) / (1 + n_j)`.
    static func center(embeddings x: [Double], labels: [Int], dimension d: Int, classes k: Int, centers: [Double],
                       lambda: Double, alpha: Double) -> Result {
        let n = labels.count
        var loss = 0.0
        var dX = [Double](repeating: 0, count: n * d)
        var pull = [Double](repeating: 0, count: k * d)
        var counts = [Int](repeating: 0, count: k)
        for i in 0..<n {
            let y = labels[i]
            counts[y] += 1
            for j in 0..<d {
                let v = x[i * d + j] - centers[y * d + j]
                loss += v * v
                dX[i * d + j] = lambda * v / Double(n)
                pull[y * d + j] -= v  // c_j - h_i
            }
        }
        var after = centers
        for c in 0..<k where counts[c] > 0 {
            for j in 0..<d { after[c * d + j] -= alpha * pull[c * d + j] / Double(1 + counts[c]) }
        }
        return Result(loss: lambda / 2 * loss / Double(n), dEmbeddings: dX, centersAfter: after)
    }
}
