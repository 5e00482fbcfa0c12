import Data
import Foundation

/// The step's samples, assembled one step ahead on a thread of its own: while step s computes,
/// the worker gathers, augments and mixes step s + 1 into the other of two buffers, so the step
/// waits for data only when augmentation is slower than the step. What a step trains on does
/// not depend on it: a batch is a function of (seed, epoch, step) alone, assembled in advance or
/// on the spot (a resumed run, the first step of an epoch). Nothing is allocated per step.
final class BatchPrefetch: @unchecked Sendable {
    /// One buffer: its assembler (input and targets) and its slots (indices, positions, rows).
    struct Buffer {
        let assembler: BatchAssembler
        let slots: BatchSlots
    }

    /// What `prepare` made of a step: its sample count on this rank and its blend.
    struct Prepared {
        var epoch = -1, step = -1, count = 0
        var mix: BatchMix?
    }

    let buffers: [Buffer]
    /// The buffer the current step uses.
    private(set) var current = 0
    /// Fills a buffer with a step's samples (on either thread).
    private let prepare: (_ epoch: Int, _ step: Int, _ buffer: Buffer) -> Prepared
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The step asked of the worker (for the buffer other than `current`), nil when idle.
    private var job: (epoch: Int, step: Int)?
    private var busy = false
    private var ready = Prepared()
    private var running = true
    private var thread: pthread_t?
    /// Samples assembled, the seconds that took (either thread) and the seconds steps waited
    /// for their batch (`--profile`).
    private(set) var assembledSamples = 0
    private(set) var assemblySeconds = 0.0
    private(set) var waitedSeconds = 0.0

    init(buffers: [Buffer], prepare: @escaping (Int, Int, Buffer) -> Prepared) {
        precondition(buffers.count == 2)
        self.buffers = buffers
        self.prepare = prepare
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        var t = pthread_t()
        let box = Unmanaged.passUnretained(self)
        if pthread_create(&t, nil, { raw in
            Unmanaged<BatchPrefetch>.fromOpaque(raw!).takeUnretainedValue().loop()
            return nil
        }, box.toOpaque()) == 0 {
            thread = t
        }
    }

    /// Stops the worker; call before the owner lets go (the thread holds no reference).
    func stop() {
        pthread_mutex_lock(mutex)
        running = false
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        if let t = thread { pthread_join(t, nil) }
        thread = nil
    }

    deinit {
        stop()
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    /// Step `step` of `epoch`, in `buffers[current]`: the worker's when it made that step, else
    /// made here. Asks the worker for `next` (the following step of the epoch) unless nil.
    func take(epoch: Int, step: Int, next: Int?) -> Prepared {
        let start = Self.now()
        defer { waitedSeconds += Self.now() - start }
        pthread_mutex_lock(mutex)
        while busy || job != nil { pthread_cond_wait(changed, mutex) }
        let made = ready
        ready = Prepared()
        pthread_mutex_unlock(mutex)
        var result: Prepared
        if made.epoch == epoch, made.step == step {
            current = 1 - current
            result = made
        } else {
            result = timedPrepare(epoch, step, buffers[current])
        }
        if let next, thread != nil {
            pthread_mutex_lock(mutex)
            job = (epoch, next)
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
        return result
    }

    /// Waits for the worker and forgets what it made (before the epoch's order changes).
    func drain() {
        pthread_mutex_lock(mutex)
        while busy || job != nil { pthread_cond_wait(changed, mutex) }
        ready = Prepared()
        pthread_mutex_unlock(mutex)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// `prepare`, counted (its counters are written by one thread at a time: the other waits).
    private func timedPrepare(_ epoch: Int, _ step: Int, _ buffer: Buffer) -> Prepared {
        let start = Self.now()
        let made = prepare(epoch, step, buffer)
        assemblySeconds += Self.now() - start
        assembledSamples += made.count
        return made
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while running {
            guard let work = job else {
                pthread_cond_wait(changed, mutex)
                continue
            }
            busy = true
            job = nil
            let target = buffers[1 - current]
            pthread_mutex_unlock(mutex)
            let made = timedPrepare(work.epoch, work.step, target)
            pthread_mutex_lock(mutex)
            ready = made
            busy = false
            pthread_cond_broadcast(changed)
        }
        pthread_mutex_unlock(mutex)
    }
}
