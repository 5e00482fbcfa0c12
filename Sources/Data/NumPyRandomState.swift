/// NumPy's legacy `RandomState` as far as LDAM-DRW's CIFAR-LT subsets use it: the Mersenne
/// Twister (MT19937) seeded by `np.random.seed(s)` with 0 <= s < 2^32, its bounded integer
/// `random_interval` (a mask and rejection), and `np.random.shuffle` of a 1-D array (the
/// backwards Fisher-Yates of `_shuffle_raw`). The same draws as NumPy, bit for bit.
public struct NumPyRandomState: Sendable {
    private var key = [UInt32](repeating: 0, count: Self.n)
    private var position = Self.n
    private static let n = 624, m = 397

    /// `np.random.seed(seed)`: the state of `init_genrand(seed)`.
    public init(seed: UInt32) {
        var s = seed
        for i in 0..<Self.n {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
    }

    /// The next 32-bit output (`genrand_int32`, tempered).
    public mutating func nextUInt32() -> UInt32 {
        if position == Self.n { regenerate() }
        var y = key[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        for i in 0..<Self.n {
            let y = (key[i] & 0x8000_0000) | (key[(i + 1) % Self.n] & 0x7FFF_FFFF)
            key[i] = key[(i + Self.m) % Self.n] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        position = 0
    }

    /// A uniform integer in 0...max (`random_interval`): 32-bit draws masked to the smallest
    /// all-ones value covering `max`, redrawn while above it; no draw for 0.
    public mutating func interval(_ max: UInt32) -> UInt32 {
        guard max > 0 else { return 0 }
        var mask = max
        for shift in [1, 2, 4, 8, 16] { mask |= mask >> UInt32(shift) }
        while true {
            let value = nextUInt32() & mask
            if value <= max { return value }
        }
    }

    /// `np.random.shuffle(x)` of a 1-D array: from the last element down, swapped with one at or before it.
    public mutating func shuffle<T>(_ x: inout [T]) {
        guard x.count > 1 else { return }
        for i in stride(from: x.count - 1, through: 1, by: -1) {
            let j = Int(interval(UInt32(i)))
            x.swapAt(i, j)
        }
    }
}
