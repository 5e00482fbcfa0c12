import Training
import Distributed
import Foundation

/// `ddp-train bench --allreduce`: the time of one float32 sum all-reduce over all ranks by
/// message size, and the line `t = latency + bytes / bandwidth` fitted to it (least squares,
/// weighted by 1/t so that small and large messages count alike). With 2 ranks a ring
/// all-reduce sends each byte once over the link, so `bandwidth` is the link's and `latency`
/// two hops' (docs/scaling.md builds the scaling model on these).
public enum AllReduceBench {
    public struct Point: Codable, Sendable {
        public var bytes: Int
        public var microseconds: Double
        /// bytes / time: the algorithm's throughput.
        public var gigabytesPerSecond: Double
        enum CodingKeys: String, CodingKey {
            case bytes, microseconds
            case gigabytesPerSecond = "gigabytes_per_second"
        }
    }

    public struct Result: Codable, Sendable {
        public var worldSize: Int
        public var points: [Point]
        public var latencyMicroseconds: Double
        public var bandwidthGigabytesPerSecond: Double
        enum CodingKeys: String, CodingKey {
            case worldSize = "world_size"
            case points
            case latencyMicroseconds = "latency_microseconds"
            case bandwidthGigabytesPerSecond = "bandwidth_gigabytes_per_second"
        }
    }

    /// Sizes from 4 bytes to `largest`, by factors of 4; each timed in 5 rounds of enough
    /// repetitions for about `budget` seconds (after one warm-up), the same count on every
    /// rank; the best round counts.
    public static func run(comm: Communicator, largest: Int = 64 << 20, budget: Double = 0.1) throws -> Result {
        var sizes: [Int] = []
        var n = 4
        while n <= largest {
            sizes.append(n)
            n *= 4
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: largest / 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var points: [Point] = []
        for bytes in sizes {
            let part = UnsafeMutableBufferPointer(rebasing: buffer[0..<(bytes / 4)])
            try comm.allReduceSum(part)  // warm-up (and connection set-up)
            // Rank 0's estimate of the repetitions, agreed on by all.
            var once = [Double(try seconds { try comm.allReduceSum(part) })]
            try comm.allReduceMax(&once)
            var repetitions = [Int64(max(3, min(2000, budget / max(once[0], 1e-7))))]
            try comm.allReduceMax(&repetitions)
            // The best of 5 rounds: other work on a shared machine only ever adds time.
            var best = Double.infinity
            for _ in 0..<5 {
                try comm.barrier()
                let total = try seconds { for _ in 0..<repetitions[0] { try comm.allReduceSum(part) } }
                var perCall = [total / Double(repetitions[0])]
                try comm.allReduceMax(&perCall)
                best = min(best, perCall[0])
            }
            let perCall = [best]
            points.append(Point(bytes: bytes, microseconds: 1e6 * perCall[0],
                                gigabytesPerSecond: Double(bytes) / perCall[0] / 1e9))
        }
        let (latency, secondsPerByte) = fit(points)
        return Result(worldSize: comm.size, points: points, latencyMicroseconds: 1e6 * latency,
                      bandwidthGigabytesPerSecond: secondsPerByte > 0 ? 1 / secondsPerByte / 1e9 : .infinity)
    }

    /// `t = a + b n` by least squares with relative errors (weights 1 / t^2).
    static func fit(_ points: [Point]) -> (Double, Double) {
        var sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        for p in points {
            let t = p.microseconds / 1e6, x = Double(p.bytes), w = 1 / (t * t)
            sw += w; sx += w * x; sy += w * t; sxx += w * x * x; sxy += w * x * t
        }
        let det = sw * sxx - sx * sx
        guard det != 0 else { return (0, 0) }
        let b = (sw * sxy - sx * sy) / det
        return (max(0, (sy - b * sx) / sw), max(0, b))
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    public static func table(_ r: Result) -> String {
        var lines = ["all-reduce (float32 sum) over \(r.worldSize) ranks", "     bytes        us/call      GB/s"]
        for p in r.points {
            lines.append(String(format: "%10d  %13.1f  %8.3f", p.bytes, p.microseconds, p.gigabytesPerSecond))
        }
        lines.append(String(format: "fit: t = %.1f us + bytes / (%.2f GB/s)", r.latencyMicroseconds,
                            r.bandwidthGigabytesPerSecond))
        return lines.joined(separator: "\n")
    }
}
