/// A failure reported by the communication library.
public struct CommunicatorError: Error, CustomStringConvertible {
    /// The call that failed, for example `MPI_Allreduce`.
    public var call: String
    /// The library's own text for the error code.
    public var reason: String

    public init(call: String, reason: String) {
        self.call = call
        self.reason = reason
    }

    public var description: String {
        "\(call) failed: \(reason)\nHINT: check that every rank runs the same command and that mpirun's hosts " +
        "can reach each other."
    }
}
