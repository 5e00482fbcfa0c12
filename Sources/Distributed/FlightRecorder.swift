import Files
import Foundation
import Synchronization

/// What kind of collective a flight record holds.
public enum CollectiveKind: UInt8, Sendable, Codable, CaseIterable {
    case allReduce, startAllReduce, broadcast, allGather, barrier
    /// The shared-memory sum of a step and the barrier after its update (`SharedParameters`).
    case sharedSum, sharedBarrier

    /// The name in flight files and messages.
    public var name: String {
        switch self {
        case .allReduce: return "all-reduce"
        case .startAllReduce: return "non-blocking all-reduce"
        case .broadcast: return "broadcast"
        case .allGather: return "all-gather"
        case .barrier: return "barrier"
        case .sharedSum: return "shared-memory gradient sum"
        case .sharedBarrier: return "shared-memory barrier"
        }
    }
}

/// Each rank's last collectives, in a ring, for the post-mortem of a stall or a fault (PyTorch's
/// Flight Recorder): sequence number (the same collective has the same number on every rank,
/// since all ranks call them in the same order), kind, bytes, gradient bucket, the training
/// position (epoch, step) and start and end times. `RecordingCommunicator` fills it; on a stall,
/// an error, a stop signal or an abort `dump` writes it to `DIRECTORY/rank-R.json` (see
/// `FlightFile`), which `FlightAnalysis` lines up across ranks.
///
/// Recording takes a lock and stores into preallocated slots: no allocation per collective.
public final class FlightRecorder: @unchecked Sendable {
    struct Slot {
        var seq: UInt64 = 0
        var kind: CollectiveKind = .barrier
        var bytes: Int = 0
        var bucket: Int32 = -1
        var epoch: Int32 = 0
        var step: Int32 = 0
        var start: Double = 0
        var end: Double = 0  // 0: not completed
    }

    struct Ring {
        var slots: [Slot]
        var next: UInt64 = 1  // the next sequence number
        var epoch: Int32 = 0
        var step: Int32 = 0
        var bucket: Int32 = -1
    }

    /// How many collectives a rank keeps.
    public let capacity: Int
    public let rank: Int
    public let size: Int
    public let host: String
    private let ring: Mutex<Ring>
    private let destination = Mutex<(directory: String, job: String)?>(nil)
    private let written = Atomic<Bool>(false)

    public init(capacity: Int = 512, rank: Int, size: Int, host: String) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.rank = rank
        self.size = size
        self.host = host
        ring = Mutex(Ring(slots: Array(repeating: Slot(), count: capacity)))
    }

    /// Where `dump` writes (`directory/rank-R.json`) and the job's identifier (the same on every
    /// rank, so that files of an earlier job in the same directory are told apart).
    public func setDestination(directory: String, job: String) {
        destination.withLock { $0 = (directory, job) }
    }

    public var directory: String? { destination.withLock { $0?.directory } }

    /// The training position that the next collectives belong to (epoch 0-based, step within it).
    public func at(epoch: Int, step: Int) {
        ring.withLock {
            $0.epoch = Int32(truncatingIfNeeded: epoch)
            $0.step = Int32(truncatingIfNeeded: step)
        }
    }

    /// The gradient bucket of the next collective only.
    public func nextBucket(_ bucket: Int) {
        ring.withLock { $0.bucket = Int32(truncatingIfNeeded: bucket) }
    }

    /// Records the start of a collective; returns its sequence number.
    func begin(_ kind: CollectiveKind, bytes: Int) -> UInt64 {
        let now = Date().timeIntervalSince1970
        return ring.withLock { r in
            let seq = r.next
            r.next += 1
            let i = Int(seq % UInt64(capacity))
            r.slots[i] = Slot(seq: seq, kind: kind, bytes: bytes, bucket: r.bucket, epoch: r.epoch, step: r.step,
                              start: now, end: 0)
            r.bucket = -1
            return seq
        }
    }

    /// Records the completion of collective `seq` (nothing if it has left the ring).
    func end(_ seq: UInt64) {
        let now = Date().timeIntervalSince1970
        ring.withLock { r in
            let i = Int(seq % UInt64(capacity))
            if r.slots[i].seq == seq { r.slots[i].end = now }
        }
    }

    /// The recorded collectives, oldest first.
    public func entries() -> [FlightEntry] {
        ring.withLock { r in
            let first = r.next > UInt64(capacity) ? r.next - UInt64(capacity) : 1
            return (first..<r.next).map { seq in
                let s = r.slots[Int(seq % UInt64(capacity))]
                return FlightEntry(seq: Int(s.seq), kind: s.kind.name, bytes: s.bytes,
                                   bucket: s.bucket >= 0 ? Int(s.bucket) : nil,
                                   epoch: Int(s.epoch) + 1, step: Int(s.step), start: s.start,
                                   end: s.end > 0 ? s.end : nil)
            }
        }
    }

    /// The file this rank's record goes to, once a destination is set.
    public var path: String? { directory.map { Self.path(directory: $0, rank: rank) } }

    public static func path(directory: String, rank: Int) -> String { "\(directory)/rank-\(rank).json" }

    /// Writes the record (atomically: a temporary file renamed into place); `reason` is `stall`,
    /// `error`, `signal` or `abort`. Returns the path, or nil when no destination is set or the
    /// write failed (a dump is best effort: it runs while the job is failing).
    /// With `replacing` false nothing is written when this process wrote its record already (an
    /// abort after a stall keeps the stall's record).
    @discardableResult
    /// `suspended`: seconds this process did not run just before (its watchdog found it had slept
    /// far longer than asked: `kill -STOP`, a paused host), which marks it as the one behind.
    public func dump(reason: String, message: String, replacing: Bool = true, suspended: Double? = nil) -> String? {
        guard let (directory, job) = destination.withLock({ $0 }) else { return nil }
        guard replacing || !written.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
        written.store(true, ordering: .releasing)
        let position = ring.withLock { (epoch: $0.epoch, step: $0.step) }
        let file = FlightFile(job: job, rank: rank, size: size, host: host, pid: Int(getpid()), reason: reason,
                              message: message,
                              writtenAt: Date().timeIntervalSince1970, epoch: Int(position.epoch) + 1,
                              step: Int(position.step),
                              collectives: entries(), suspended: suspended)
        let path = Self.path(directory: directory, rank: rank)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(path, data: encoder.encode(file))
            return path
        } catch {
            return nil
        }
    }
}

/// One collective in a flight file.
public struct FlightEntry: Codable, Sendable, Equatable {
    public var seq: Int
    public var kind: String
    public var bytes: Int
    /// The gradient bucket, for gradient all-reduces.
    public var bucket: Int?
    /// The training position when it started: epoch (from 1) and step within the epoch.
    public var epoch: Int
    public var step: Int
    /// Unix times in seconds; `end` is absent while the collective has not completed.
    public var start: Double
    public var end: Double?
}

/// `RUNDIR/flight/rank-R.json`: one rank's last collectives and why they were written.
public struct FlightFile: Codable, Sendable, Equatable {
    public var job: String
    public var rank: Int
    public var size: Int
    public var host: String
    public var pid: Int
    public var reason: String
    public var message: String
    public var writtenAt: Double
    /// The training position at the time of writing.
    public var epoch: Int
    public var step: Int
    public var collectives: [FlightEntry]
    /// Seconds the process was not running just before it wrote (stopped or paused), if it noticed.
    public var suspended: Double?

    enum CodingKeys: String, CodingKey {
        case job, rank, size, host, pid, reason, message, epoch, step, collectives, suspended
        case writtenAt = "written_at"
    }
}
