import Foundation

/// The project's one seeded random number generator: xoshiro256** seeded
/// through SplitMix64.
///
/// The same seed gives the same stream on every machine. Streams for a given
/// purpose (an epoch's permutation, one layer's initial weights) are derived
/// from the seed with `RandomSource(seed:stream:)`, so no state has to travel
/// in checkpoints besides the seed and the position in the run.
public struct RandomSource: RandomNumberGenerator, Sendable, Codable, Equatable {
    public private(set) var state: [UInt64]

    /// A generator for `seed`.
    public init(seed: UInt64) {
        var sm = seed
        state = (0..<4).map { _ in Self.splitMix(&sm) }
    }

    /// A generator for `seed` and a purpose given by `stream` words, independent of other streams.
    public init(seed: UInt64, stream: [UInt64]) {
        var sm = seed
        var mixed = Self.splitMix(&sm)
        for word in stream {
            var s = mixed ^ (word &* 0x9E37_79B9_7F4A_7C15)
            mixed = Self.splitMix(&s)
        }
        self.init(seed: mixed)
    }

    @inline(__always)
    static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = Self.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in `0..<bound` without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below: \(bound))")
        return Int(next(upperBound: UInt64(bound)))
    }

    /// Standard normal sample (Box-Muller).
    public mutating func nextNormal() -> Double {
        var u1 = nextDouble()
        while u1 <= 0 { u1 = nextDouble() }
        let u2 = nextDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fisher-Yates shuffle of `values` in place.
    @inlinable  // specialised where it is called: a generic swapAt allocated on every swap
    public mutating func shuffle<T>(_ values: inout [T]) {
        if values.count < 2 { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { values.swapAt(i, j) }
        }
    }
}

