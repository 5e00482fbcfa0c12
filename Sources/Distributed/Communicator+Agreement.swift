/// A failure that every rank agreed on: the job ends cleanly with `message`,
/// printed once by rank 0.
public struct CollectiveFailure: Error, CustomStringConvertible {
    /// The lowest rank that failed.
    public var rank: Int
    /// That rank's error text.
    public var message: String

    public var description: String { message }

    public init(rank: Int, message: String) {
        self.rank = rank
        self.message = message
    }
}

extension Communicator {
    /// Runs `body` on every rank, then agrees on the outcome: if any rank threw,
    /// every rank throws a `CollectiveFailure` carrying the lowest failing
    /// rank's message, so the job can end cleanly instead of hanging in the
    /// next collective. Use it around set-up work that may fail on some ranks
    /// only (reading a rank's data shard, validating a checkpoint).
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        var message = ""
        do { result = try body() } catch { message = String(describing: error) }
        var failing: [Int64] = [result == nil ? Int64(rank) : Int64(Int32.max)]
        try failing.withUnsafeMutableBufferPointer { try allReduceMin($0) }
        let first = Int(failing[0])
        if first == Int(Int32.max), let result { return result }
        let text = try broadcast(string: message, root: first)
        throw CollectiveFailure(rank: first, message: text)
    }
}
