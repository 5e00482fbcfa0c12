import CMPI
import Foundation

/// A background thread that advances non-blocking MPI collectives while the training
/// thread computes.
///
/// Open MPI moves a non-blocking all-reduce forward only inside MPI calls. Backward makes
/// none while a layer runs, so a gradient bucket started early would sit still until the
/// next layer boundary, and on a slow link the transfer would not overlap with anything.
/// While requests are pending this thread calls `MPI_Test` on them every `interval`; with
/// nothing pending it sleeps on a condition variable and costs nothing.
///
/// MPI runs at `MPI_THREAD_SERIALIZED`: every MPI call of the process, from either thread,
/// is made under `lock`. A request the thread completes is marked done (its handle becomes
/// `MPI_REQUEST_NULL`), so the training thread's own test or wait returns at once.
final class ProgressThread: @unchecked Sendable {
    final class Request: CommunicatorRequest {
        var handle: MPI_Request? = cmpi_request_null()
        var done = false
        /// An MPI error code met by a test (reported by the owner's next test or wait).
        var failure: Int32 = 0

        /// One `MPI_Test` unless done; a failure also ends the request. Call with the lock held.
        func poll() {
            guard !done else { return }
            var flag: Int32 = 0
            failure = MPI_Test(&handle, &flag, cmpi_status_ignore())
            done = flag != 0 || failure != cmpi_success()
        }
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Requests in flight (capacity reserved: adding one does not allocate).
    private var pending: [Request] = []
    private var running = false
    private var thread: pthread_t?
    private let interval: Int

    /// - interval: nanoseconds between two rounds of tests while requests are pending
    init(interval: Int = 100_000) {
        self.interval = interval
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pending.reserveCapacity(256)
    }

    deinit {
        stop()
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    /// Runs `body` holding the lock that serialises MPI calls.
    @inline(__always)
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Starts the thread (once).
    func start() {
        locked {
            guard !running else { return }
            running = true
            var t = pthread_t()
            let box = Unmanaged.passRetained(self)
            let rc = pthread_create(&t, nil, { raw in
                let engine = Unmanaged<ProgressThread>.fromOpaque(raw!).takeRetainedValue()
                engine.loop()
                return nil
            }, box.toOpaque())
            if rc == 0 { thread = t } else { running = false; box.release() }
        }
    }

    /// Stops and joins the thread; pending requests stay with their owners.
    func stop() {
        let t: pthread_t? = locked {
            running = false
            pthread_cond_signal(wake)
            defer { thread = nil }
            return thread
        }
        if let t { pthread_join(t, nil) }
    }

    /// Hands a just-started request to the thread. Call with the lock held.
    func watch(_ request: Request) {
        guard running else { return }
        if pending.count == pending.capacity { pending.removeAll(where: { $0.done }) }
        pending.append(request)
        if pending.count == 1 { pthread_cond_signal(wake) }
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while running {
            if pending.isEmpty {
                pthread_cond_wait(wake, mutex)
                continue
            }
            var i = 0
            while i < pending.count {
                let r = pending[i]
                r.poll()
                if r.done {
                    pending.swapAt(i, pending.count - 1)
                    pending.removeLast()
                } else {
                    i += 1
                }
            }
            pthread_mutex_unlock(mutex)
            var ts = timespec(tv_sec: 0, tv_nsec: interval)
            nanosleep(&ts, nil)
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }
}
