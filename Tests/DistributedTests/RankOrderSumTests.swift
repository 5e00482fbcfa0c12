import Testing
@testable import Distributed

/// The shared-memory sums add the ranks' values in the order of Open MPI's recursive doubling,
/// written out here for 1 to 8 ranks; values of mixed magnitudes make other orders round
/// differently (checked: the sum in plain rank order, the same for 3 ranks, differs for 4 and more).
@Suite struct RankOrderSumTests {
    /// Recursive doubling's order, spelled out.
    static func expected<T: RankSummable>(_ v: [T]) -> T {
        switch v.count {
        case 1: return v[0]
        case 2: return v[0] + v[1]
        case 3: return (v[0] + v[1]) + v[2]
        case 4: return (v[0] + v[1]) + (v[2] + v[3])
        case 5: return ((v[0] + v[1]) + v[2]) + (v[3] + v[4])
        case 6: return ((v[0] + v[1]) + (v[2] + v[3])) + (v[4] + v[5])
        case 7: return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + v[6])
        case 8: return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
        default: preconditionFailure("spelled out for 1 to 8 ranks")
        }
    }

    /// Values of magnitudes 2^-12 ... 2^12 with both signs: sums that cancel and round.
    static func values(ranks n: Int, count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<(n * count)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let mantissa = Float(Int(truncatingIfNeeded: state >> 40) % 1_000_000) / 1_000_000
            let exponent = Int(truncatingIfNeeded: (state >> 20) % 25) - 12
            return mantissa * Float(sign: .plus, exponent: exponent, significand: 1)
        }
    }

    @Test(arguments: 1...8)
    func slotsSumInRecursiveDoublingOrder(ranks n: Int) {
        // Lengths around the sixteen-float vectors, with a slot stride longer than the sum.
        for count in [1, 15, 16, 17, 40] {
            let stride = count + 3
            let data = Self.values(ranks: n, count: stride, seed: UInt64(n * 100 + count))
            let slots = UnsafeMutablePointer<Float>.allocate(capacity: n * stride)
            defer { slots.deallocate() }
            for clearing in [false, true] {
                slots.update(from: data, count: n * stride)
                let result = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { result.deallocate() }
                RankOrderSum.sum(slots: slots, stride: stride, ranks: n, count: count, into: result, clearing: clearing)
                for i in 0..<count {
                    let column = (0..<n).map { data[$0 * stride + i] }
                    #expect(result[i] == Self.expected(column), "\(n) ranks, element \(i) of \(count)")
                }
                // Slot 0 is left alone; slots 1... are zero where read when clearing, untouched elsewhere.
                for q in 0..<n {
                    for i in 0..<stride {
                        let want = clearing && q > 0 && i < count ? 0 : data[q * stride + i]
                        #expect(slots[q * stride + i] == want, "slot \(q), element \(i)")
                    }
                }
            }
        }
    }

    /// The result may be slot 0 itself (shared parameters sum into it).
    @Test func sumsIntoSlotZero() {
        let n = 6, count = 37
        let data = Self.values(ranks: n, count: count, seed: 7)
        let slots = UnsafeMutablePointer<Float>.allocate(capacity: n * count)
        defer { slots.deallocate() }
        slots.update(from: data, count: n * count)
        RankOrderSum.sum(slots: slots, stride: count, ranks: n, count: count, into: slots, clearing: true)
        for i in 0..<count {
            #expect(slots[i] == Self.expected((0..<n).map { data[$0 * count + i] }))
        }
    }

    /// The values are such that the order shows: adding in plain rank order gives other bits.
    @Test func orderMatters() {
        for n in 4...8 {
            let count = 64
            let data = Self.values(ranks: n, count: count, seed: UInt64(n))
            let differs = (0..<count).contains { i in
                let column = (0..<n).map { data[$0 * count + i] }
                return column.dropFirst().reduce(column[0], +) != Self.expected(column)
            }
            #expect(differs, "\(n) ranks: the test values do not tell the orders apart")
        }
    }

    /// The scalars (the step's loss and flags) in double precision, in the same order.
    @Test func doublesInTheSameOrder() {
        for n in 1...8 {
            let v = Self.values(ranks: n, count: 1, seed: UInt64(40 + n)).map(Double.init)
            let got = withUnsafeTemporaryAllocation(of: Double.self, capacity: RankOrderSum.levels(n)) { stack in
                RankOrderSum.sum(ranks: n, stack: stack.baseAddress!) { v[$0] }
            }
            #expect(got == Self.expected(v), "\(n) ranks")
        }
    }
}
