import Distributed
import Foundation
import Tensor

/// A subcommand that runs on every rank of a job with a communicator.
protocol JobCommand: ParsableCommandWithThreads {
    /// Does the work on this rank; returns the process exit code.
    func run(comm: Communicator) throws -> Int32
}

/// Commands that take `--threads`.
protocol ParsableCommandWithThreads {
    /// BLAS threads per rank, nil for the default.
    var blasThreads: Int? { get }
}

/// Starting and ending a job: the communicator, BLAS threads, errors.
enum Launch {
    /// This process's rank as the launcher set it in the environment, 0 without a launcher.
    static var rankFromEnvironment: Int {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = env[key], let rank = Int(value) { return rank }
        }
        return 0
    }

    /// Runs `job` on this rank and returns the exit code. Errors that every rank
    /// agreed on end the job cleanly (rank 0 prints); any other error on one
    /// rank of several aborts the whole job with that rank's message.
    static func run(_ job: JobCommand) -> Int32 {
        let comm: Communicator
        var mpi: MPICommunicator?
        do {
            if MPICommunicator.launchedByMPI {
                mpi = try MPICommunicator.initialize()
                comm = RecordingCommunicator(mpi!)  // the flight recorder of every collective
            } else {
                comm = SingleProcessCommunicator()
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 1
        }
        BLASRuntime.setThreads(job.blasThreads ?? BLASRuntime.defaultThreads(ranksOnHost: comm.localSize))

        let code: Int32
        do {
            code = try job.run(comm: comm)
        } catch let failure as CollectiveFailure {
            if comm.rank == 0 {
                let origin = failure.rank > 0 ? " (rank \(failure.rank))" : ""
                FileHandle.standardError.write(Data("error\(origin): \(failure.message)\n".utf8))
            }
            code = 1
        } catch {
            if comm.size > 1 {
                comm.flightRecorder?.dump(reason: "error", message: "\(error)")
                comm.abort("error: \(error)", code: 1)
            }
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            code = 1
        }
        mpi?.finalize()
        return code
    }
}
