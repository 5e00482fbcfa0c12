import Dispatch
import Foundation
import Testing
import Tensor
@testable import NN

/// Sums the buffers of two "ranks" (threads): each deposits its buffer and waits for the other.
final class TwoRankReducer: @unchecked Sendable {
    private var buffers: [[Double]] = [[], []]
    private let lock = NSLock()
    private var arrived = 0
    private var generation = 0

    /// Returns once both threads have called it.
    private func barrier() {
        lock.lock()
        arrived += 1
        let mine = generation
        if arrived == 2 {
            arrived = 0
            generation += 1
        }
        lock.unlock()
        while true {
            lock.lock()
            let done = generation != mine
            lock.unlock()
            if done { return }
            usleep(50)
        }
    }

    func reduce(_ rank: Int, _ buffer: UnsafeMutableBufferPointer<Double>) {
        lock.lock()
        buffers[rank] = Array(buffer)
        lock.unlock()
        barrier()  // both deposited
        lock.lock()
        for i in 0..<buffer.count { buffer[i] = buffers[0][i] + buffers[1][i] }
        lock.unlock()
        barrier()  // both read: the next call may overwrite
    }
}

/// Hands non-Sendable test objects to the two "rank" threads.
struct Unchecked<T>: @unchecked Sendable { var value: T }

/// One "rank": a batch-norm replica and its half of the batch.
final class Replica: @unchecked Sendable {
    let bn: BatchNorm2d, store: ParameterStore, buffers: ParameterStore
    let input: [Float], gradient: [Float], shape: [Int]
    var output: [Float] = [], inputGradient: [Float] = []
    init(channels c: Int, input: [Float], gradient: [Float], shape: [Int]) {
        store = ParameterStore()
        buffers = ParameterStore(hasGradients: false)
        bn = BatchNorm2d("bn", channels: c, store: store, buffers: buffers)
        store.allocate(); buffers.allocate(); store.initialize(seed: 0); buffers.initialize(seed: 0)
        for i in 0..<c { store.values[i] = 1 + Float(i) * 0.5; store.values[c + i] = Float(i) * 0.1 }
        self.input = input
        self.gradient = gradient
        self.shape = shape
    }
    func run() {
        output = bn.forward(Tensor(shape: shape, values: input), training: true).array
        inputGradient = bn.backward(Tensor(shape: shape, values: gradient)).array
    }
}

@Suite struct SyncBatchNormTests {
    /// Two halves of a batch through two batch-norm replicas with summed statistics give what
    /// one batch-norm layer gives on the whole batch: outputs, input gradients, parameter
    /// gradients (summed) and running statistics.
    @Test func twoReplicasEqualOneLayer() {
        let (c, b, hw) = (3, 8, 5)
        let x = randomValues(c * b * hw, seed: 1, scale: 2)
        let dy = randomValues(c * b * hw, seed: 2)
        func half(_ v: [Float], _ r: Int) -> [Float] {
            var out: [Float] = []
            for ch in 0..<c {
                let start = (ch * b + r * b / 2) * hw, end = (ch * b + (r + 1) * b / 2) * hw
                out += v[start..<end]
            }
            return out
        }
        let whole = Replica(channels: c, input: x, gradient: dy, shape: [c, b, 1, hw])
        whole.run()
        let reducer = TwoRankReducer()
        let replicas = (0..<2).map { r in Replica(channels: c, input: half(x, r), gradient: half(dy, r),
                                                  shape: [c, b / 2, 1, hw]) }
        for (r, replica) in replicas.enumerated() { replica.bn.reducer = { reducer.reduce(r, $0) } }
        let shared = Unchecked(value: replicas)
        // Two threads of their own: each waits for the other inside the reducer, which a pool
        // (concurrentPerform) need not allow: on one CPU it may run the iterations in turn.
        let finished = DispatchSemaphore(value: 0)
        for r in 0..<2 {
            Thread {
                shared.value[r].run()
                finished.signal()
            }.start()
        }
        finished.wait()
        finished.wait()
        for r in 0..<2 {
            for (a, w) in zip(replicas[r].output,
                              half(whole.output, r)) { #expect(abs(a - w) < 1e-5, "output rank \(r)") }
            for (a, w) in zip(replicas[r].inputGradient,
                              half(whole.inputGradient, r)) { #expect(abs(a - w) < 1e-5, "dx rank \(r): \(a) vs \(w)") }
            for (a, w) in zip(replicas[r].buffers.valueArray,
                              whole.buffers.valueArray) { #expect(abs(a - w) < 1e-5, "running statistics") }
        }
        let summed = zip(replicas[0].store.gradientArray, replicas[1].store.gradientArray).map { $0 + $1 }
        for (a, w) in zip(summed,
                          whole.store.gradientArray) { #expect(abs(a - w) < 1e-4, "parameter gradients \(a) vs \(w)") }
    }
}
