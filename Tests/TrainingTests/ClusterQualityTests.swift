import Tensor
import Testing
@testable import Training

/// NMI and AMI against scikit-learn's values (`normalized_mutual_info_score`,
/// `adjusted_mutual_info_score`, arithmetic mean), k-means on well-separated clusters, and
/// the variance ratio.
@Suite struct ClusterQualityTests {
    static let cases: [([Int], [Int], Double, Double)] = [
        ([0, 0, 1, 1], [0, 0, 1, 2], 0.7999999999999999, 0.5714285714285715),
        ([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 0], 0.42061983571430506, 0.1650226091288854),
        ([0, 1, 2, 0, 1, 2, 0, 1, 2, 3], [1, 1, 2, 0, 0, 2, 0, 1, 2, 2], 0.5884891726309149, 0.36736381548927294),
        ([0, 0, 1, 1], [1, 1, 0, 0], 1, 1),
        ([0, 0, 0, 0], [0, 1, 2, 3], 0, 0),
    ]

    @Test(arguments: 0..<cases.count)
    func mutualInformationAsScikitLearn(index: Int) {
        let (u, v, nmi, ami) = Self.cases[index]
        let (gotNMI, gotAMI) = ClusterQuality.mutualInformation(u, v)
        #expect(abs(gotNMI - nmi) < 1e-12, "NMI \(gotNMI) vs \(nmi)")
        #expect(abs(gotAMI - ami) < 1e-12, "AMI \(gotAMI) vs \(ami)")
    }

    /// Four tight, far-apart clusters: k-means finds them (NMI = AMI = 1) and the variance
    /// ratio is small; labels that cut across the clusters score low.
    @Test func separatedClustersAreFound() {
        var rng = RandomSource(seed: 5)
        let (n, d) = (200, 8)
        var x = [Float](repeating: 0, count: n * d), labels = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let c = i % 4
            labels[i] = Int32(c)
            for j in 0..<d { x[i * d + j] = Float(j == c ? 10 : 0) + Float(rng.nextNormal()) * 0.1 }
        }
        let good = x.withUnsafeBufferPointer { xb in
            labels.withUnsafeBufferPointer {
                ClusterQuality.measure(xb.baseAddress!, labels: $0.baseAddress!, count: n, dimension: d)
            }
        }
        #expect(abs(good.nmi - 1) < 1e-9 && abs(good.ami - 1) < 1e-9, "\(good)")
        #expect(good.varianceRatio < 0.01)
        let across = (0..<n).map { Int32(($0 / 4) % 4) }
        let bad = x.withUnsafeBufferPointer { xb in
            across.withUnsafeBufferPointer {
                ClusterQuality.measure(xb.baseAddress!, labels: $0.baseAddress!, count: n, dimension: d)
            }
        }
        #expect(bad.nmi < 0.2 && bad.varianceRatio > 10, "\(bad)")
    }
}
