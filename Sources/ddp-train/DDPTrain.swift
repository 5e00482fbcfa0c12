import ArgumentParser

/// The `ddp-train` command: subcommands, `train` by default.
struct DDPTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp-train",
        abstract: "Data-parallel training for class-imbalanced classification over MPI.",
        discussion: """
            Run as one process for debugging, or under mpirun for data-parallel training:
              mpirun -n 8 .build/release/ddp-train --model mlp --loss ib
            Every training option, with its default: ddp-train train --help
            """,
        subcommands: [TrainCommand.self, EvalCommand.self, DoctorCommand.self, VerifyLossesCommand.self,
                      VerifyExplanationsCommand.self, ExplainCommand.self, InspectCommand.self,
                      ExportCommand.self, ReportCommand.self, CompareCommand.self, BenchCommand.self,
                      FlightCommand.self],
        defaultSubcommand: TrainCommand.self
    )
}
