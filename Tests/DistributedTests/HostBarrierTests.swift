import CHostBarrier
import Dispatch
import Foundation
import Testing

/// The futex barrier of a host's ranks (`host_barrier_wait`), here between threads of one
/// process (the same futex calls, on ordinary memory): round after round no party passes before
/// every party arrived, and what each stored before it is seen by all after it, whether the
/// waiting parties sleep at once (`spins` 0, ranks outnumbering cores) or spin first.
@Suite struct HostBarrierTests {
    /// The parties' shared memory (the barrier orders every access to it).
    final class Memory: @unchecked Sendable {
        let barrier = UnsafeMutablePointer<host_barrier>.allocate(capacity: 1)
        let marks: UnsafeMutablePointer<Int>, early: UnsafeMutablePointer<Int>, errors: UnsafeMutablePointer<Int32>

        init(parties: Int) {
            barrier.initialize(to: host_barrier())
            marks = .allocate(capacity: parties)
            marks.initialize(repeating: 0, count: parties)
            early = .allocate(capacity: parties)
            early.initialize(repeating: 0, count: parties)
            errors = .allocate(capacity: parties)
            errors.initialize(repeating: 0, count: parties)
        }

        deinit {
            barrier.deallocate()
            marks.deallocate()
            early.deallocate()
            errors.deallocate()
        }
    }

    @Test(arguments: [UInt32(0), UInt32(20_000)])
    func noPartyPassesEarly(spins: UInt32) {
        let parties = 4, rounds = 2_000
        let memory = Memory(parties: parties)
        let done = DispatchSemaphore(value: 0)
        for p in 0..<parties {
            // Threads of their own: a pool narrower than the parties would never fill the barrier.
            Thread {
                let barrier = memory.barrier, marks = memory.marks, early = memory.early, errors = memory.errors
                for round in 1...rounds {
                    marks[p] = round
                    errors[p] |= host_barrier_wait(barrier, UInt32(parties), spins)
                    for q in 0..<parties where marks[q] != round { early[p] += 1 }
                    // Nobody marks the next round before every party has read this one.
                    errors[p] |= host_barrier_wait(barrier, UInt32(parties), spins)
                }
                done.signal()
            }.start()
        }
        var finished = 0
        for _ in 0..<parties where done.wait(timeout: .now() + 120) == .success { finished += 1 }
        #expect(finished == parties, "the barrier left parties waiting")
        guard finished == parties else { return }
        #expect((0..<parties).map { memory.early[$0] } == Array(repeating: 0, count: parties))
        #expect((0..<parties).map { memory.errors[$0] } == Array(repeating: 0, count: parties))
        #expect(memory.barrier.pointee.arrived == 0 && memory.barrier.pointee.generation == UInt32(2 * rounds))
    }
}
