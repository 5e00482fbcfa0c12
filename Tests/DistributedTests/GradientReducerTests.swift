import Testing
@testable import Distributed

@Suite struct GradientReducerTests {
    typealias Bucket = GradientReducer.Bucket

    /// Buckets run from the top of the buffer down, cut at layer boundaries: the first closes
    /// before a layer that would take it past its (small) target, the others past theirs.
    @Test func bucketsFollowLayersFromTheTop() {
        // The mlp's layout: fc1 at 0, fc2 at 401,920, fc3 at 533,504, 535,818 floats.
        let offsets = [0, 401_920, 533_504]
        #expect(GradientReducer.plan(count: 535_818, layerOffsets: offsets, firstBucket: 262_144, bucket: 6_553_600)
                == [Bucket(lower: 401_920, upper: 535_818), Bucket(lower: 0, upper: 401_920)])
        #expect(GradientReducer.plan(count: 535_818, layerOffsets: offsets, firstBucket: 65_536, bucket: 6_553_600)
                == [Bucket(lower: 533_504, upper: 535_818), Bucket(lower: 0, upper: 533_504)])
        #expect(GradientReducer.plan(count: 535_818, layerOffsets: offsets, firstBucket: 1, bucket: 1)
                == [Bucket(lower: 533_504, upper: 535_818), Bucket(lower: 401_920, upper: 533_504),
                    Bucket(lower: 0, upper: 401_920)])
        // One bucket when the targets hold everything; every float covered exactly once in any plan.
        #expect(GradientReducer.plan(count: 100, layerOffsets: [0, 10, 50], firstBucket: 1000,
                                     bucket: 1000) == [Bucket(lower: 0, upper: 100)])
        for first in [1, 7, 40, 1000] {
            let plan = GradientReducer.plan(count: 100, layerOffsets: [50, 0, 10, 90], firstBucket: first, bucket: 30)
            #expect(plan.first?.upper == 100 && plan.last?.lower == 0)
            #expect(zip(plan, plan.dropFirst()).allSatisfy { $0.lower == $1.upper })
        }
    }

    /// The finite check finds a NaN or infinity at any place: in each of its four vector
    /// sums and in the scalar tail, for lengths around its 32-float stride.
    @Test func finiteCheckFindsEveryPosition() {
        for n in [1, 7, 31, 32, 33, 64, 100, 257] {
            var values = (0..<n).map { Float($0) * 1e30 }
            #expect(GradientReducer.allFinite(values, count: n), "n=\(n)")
            for position in 0..<n {
                for bad in [Float.nan, .infinity, -.infinity] {
                    let kept = values[position]
                    values[position] = bad
                    #expect(!GradientReducer.allFinite(values, count: n), "n=\(n), \(bad) at \(position)")
                    values[position] = kept
                }
            }
        }
    }

    @Test func oneProcessFinishesAndSeesNonFiniteGradients() throws {
        var gradients: [Float] = [1, 2, .nan, 4, 5, 6, 7, 8, 9, 10]
        try gradients.withUnsafeMutableBufferPointer { g in
            let reducer = GradientReducer(comm: SingleProcessCommunicator(), gradients: g.baseAddress!, count: 10,
                                          layerOffsets: [0, 5], firstBucketBytes: 20, bucketBytes: 40)
            reducer.reset()
            try reducer.gradientsReady(from: 5)
            #expect(!reducer.localNonFinite)  // the top bucket (5..<10) is finite
            try reducer.finish()
            #expect(reducer.localNonFinite)  // the NaN at 2 is in the last bucket
            g[2] = 3
            reducer.reset()
            try reducer.finish()
            #expect(!reducer.localNonFinite)
            g[9] = .infinity
            reducer.reset()
            try reducer.finish()
            #expect(reducer.localNonFinite)
        }
    }

    /// A model smaller than the first bucket still gets several buckets, so that backward has
    /// something to overlap with.
    @Test func bucketsAreAtMostAQuarterOfTheGradients() {
        let layers = Array(stride(from: 0, to: 1000, by: 50))  // 20 layers of 50
        let g = UnsafeMutablePointer<Float>.allocate(capacity: 1000)
        defer { g.deallocate() }
        let big = GradientReducer(comm: SingleProcessCommunicator(), gradients: g, count: 1000,
                                  layerOffsets: layers, firstBucketBytes: 1 << 20, bucketBytes: 25 << 20)
        #expect(big.buckets.map(\.count) == [250, 250, 250, 250])
        #expect(big.buckets.first == Bucket(lower: 750, upper: 1000))
        let small = GradientReducer(comm: SingleProcessCommunicator(), gradients: g, count: 1000,
                                    layerOffsets: layers, firstBucketBytes: 400, bucketBytes: 800)
        #expect(small.buckets.map(\.count) == [100] + Array(repeating: 200, count: 4) + [100])
    }
}
