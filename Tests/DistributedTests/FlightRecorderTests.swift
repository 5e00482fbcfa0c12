import Foundation
import Testing
@testable import Distributed

/// The flight recorder keeps the last collectives in order with their positions and buckets,
/// writes them atomically, and the analysis names the rank behind from the ranks' files.
@Suite struct FlightRecorderTests {
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "flight-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func ringKeepsTheLastCollectivesInOrder() throws {
        let comm = RecordingCommunicator(SingleProcessCommunicator(), capacity: 4)
        var x: [Float] = [1, 2, 3]
        for step in 1...10 {
            comm.recorder.at(epoch: 2, step: step)
            try x.withUnsafeMutableBytes { try comm.allReduce($0.baseAddress!, count: 3, kind: .float, op: .sum) }
        }
        let e = comm.recorder.entries()
        #expect(e.map(\.seq) == [7, 8, 9, 10])
        #expect(e.map(\.step) == [7, 8, 9, 10])
        #expect(e.allSatisfy { $0.epoch == 3 && $0.kind == "all-reduce" && $0.bytes == 12 && $0.end != nil
            && $0.bucket == nil })
    }

    @Test func nonBlockingCollectivesEndWhenTestedAndRequestsAreReused() throws {
        let comm = RecordingCommunicator(SingleProcessCommunicator())
        var g = [Float](repeating: 0, count: 8)
        comm.recorder.nextBucket(3)
        let r1 = try g.withUnsafeMutableBytes { try comm.startAllReduce($0.baseAddress!, count: 8, kind: .bfloat16,
                                                                        op: .sum, reusing: nil) }
        #expect(comm.recorder.entries().last?.end == nil)
        #expect(try comm.test(r1))
        let r2 = try g.withUnsafeMutableBytes { try comm.startAllReduce($0.baseAddress!, count: 8, kind: .float,
                                                                        op: .sum, reusing: r1) }
        #expect(r1 === r2)
        try comm.wait(r2)
        let e = comm.recorder.entries()
        #expect(e.count == 2)
        #expect(e[0].bucket == 3 && e[0].bytes == 16 && e[0].kind == "non-blocking all-reduce" && e[0].end != nil)
        #expect(e[1].bucket == nil && e[1].bytes == 32 && e[1].end != nil)
    }

    @Test func dumpWritesAFileThatReadsBackAndAnAbortKeepsAStallRecord() throws {
        let directory = Self.temporaryDirectory() + "/flight"
        let recorder = FlightRecorder(capacity: 8, rank: 2, size: 3, host: "h")
        #expect(recorder.dump(reason: "stall", message: "m") == nil)  // no destination yet
        recorder.setDestination(directory: directory, job: "J")
        _ = recorder.begin(.broadcast, bytes: 5)
        let path = try #require(recorder.dump(reason: "stall", message: "no step"))
        #expect(path == directory + "/rank-2.json")
        #expect(recorder.dump(reason: "abort", message: "later", replacing: false) == nil)
        let file = try JSONDecoder().decode(FlightFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file.reason == "stall" && file.job == "J" && file.rank == 2 && file.size == 3)
        #expect(file.collectives.count == 1 && file.collectives[0].kind == "broadcast"
            && file.collectives[0].end == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["rank-2.json"])  // no temporary left
    }

    static func file(_ rank: Int, job: String = "J", host: String = "a", written: Double = 100,
                     _ entries: [(Int, Bool)]) -> FlightFile {
        FlightFile(job: job, rank: rank, size: 3, host: host, pid: 1, reason: "stall", message: "", writtenAt: written,
                   epoch: 1, step: 4,
                   collectives: entries.map { FlightEntry(seq: $0.0, kind: "all-reduce", bytes: 2048, bucket: 0,
                                                          epoch: 1, step: $0.0,
                                                          start: 90, end: $0.1 ? 91 : nil) })
    }

    @Test func aMissingRankIsBehindTheCollectiveTheOthersWaitIn() {
        let a = FlightAnalysis(files: [Self.file(0, [(4, true), (5, false)]), Self.file(2, [(4, true), (5, false)])])
        #expect(a.missing == [1] && a.lagging.isEmpty && a.behind == [1] && a.waiting == [0, 2])
        #expect(a.collective?.seq == 5)
        #expect(a.summary == "Rank 1 is behind. Rank 1 left no flight record (stopped, killed, or its host "
                + "unreachable). "
                + "Waiting: rank 0 in #5 (all-reduce of 2.0 KiB, gradient bucket 0, epoch 1, step 5) for 10.0 s; "
                + "rank 2 in #5 (all-reduce of 2.0 KiB, gradient bucket 0, epoch 1, step 5) for 10.0 s.")
    }

    /// A rank stopped part-way through an all-reduce can let one waiter through to the next
    /// collective: the ranks inside collectives are held up, not behind.
    @Test func ranksWaitingInDifferentCollectivesAreNotBehind() {
        let a = FlightAnalysis(files: [Self.file(0, [(4, true), (5, false)]), Self.file(2, [(5, true), (6, false)])])
        #expect(a.behind == [1] && a.lagging.isEmpty && a.waiting == [0, 2] && a.collective?.seq == 5)
    }

    /// A stopped rank writes when it runs again (Open MPI continues it before ending it): it
    /// noticed it did not run, so it is behind even though it waits in a collective then.
    @Test func aRankThatWasSuspendedIsBehindEvenWhenItWroteLate() {
        var late = Self.file(1, [(4, true), (5, false)])
        late.suspended = 7.5
        let a = FlightAnalysis(files: [Self.file(0, [(4, true), (5, false)]), late,
                                       Self.file(2, [(5, true), (6, false)])])
        #expect(a.behind == [1] && a.suspended == [1] && a.waiting == [0, 2])
        #expect(a.summary.hasPrefix("Rank 1 is behind. Rank 1 did not run for 7.5 s before it wrote its record"))
        #expect(!a.summary.contains("rank 1 in #"))
    }

    @Test func aRankThatWroteButLagsIsNamedWithItsLastCollective() {
        let a = FlightAnalysis(files: [Self.file(0, [(4, true), (5, false)]), Self.file(1, [(3, true), (4, true)]),
                                       Self.file(2, [(4, true), (5, false)])])
        #expect(a.behind == [1] && a.lagging == [1] && a.missing.isEmpty && a.collective?.seq == 5)
        #expect(a.summary.hasPrefix("Rank 1 is behind. Rank 1 was outside every collective and did not enter "
                                    + "collective #5 "
                                    + "(all-reduce of 2.0 KiB, gradient bucket 0, epoch 1, step 5); its last was #4"))
        #expect(a.table.count == 4 && a.table[2].hasPrefix("1 "))
    }

    @Test func everyRankInsideTheSameCollectiveMeansTheyCannotReachEachOther() {
        let a = FlightAnalysis(files: [Self.file(0, host: "a", [(5, false)]), Self.file(1, host: "a", [(5, false)]),
                                       Self.file(2, host: "b", [(5, false)]),
                                       Self.file(1, job: "OLD", written: 50, [(1, true)])])
        #expect(a.files.count == 3 && a.behind.isEmpty && a.collective?.seq == 5)
        #expect(a.summary.hasPrefix("Every rank entered collective #5 and none completed it"))
        #expect(a.summary.contains("Hosts: a: ranks 0, 1, b: rank 2."))
    }

    @Test func recordsWithNothingInFlightSayNoRankIsBehind() {
        let a = FlightAnalysis(files: [Self.file(0, [(4, true)]), Self.file(1, [(4, true)]), Self.file(2, [(4, true)])])
        #expect(a.behind.isEmpty && a.waiting.isEmpty && a.collective == nil)
        #expect(a.summary.hasPrefix("No rank is behind"))
    }

    @Test func unreadableDirectoriesAreClearErrors() throws {
        let directory = Self.temporaryDirectory()
        #expect(throws: FlightError.self) { try FlightAnalysis.read(directory: directory) }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: directory + "/rank-0.json"))
        do {
            _ = try FlightAnalysis.read(directory: directory)
            Issue.record("a corrupt record was read")
        } catch let error as FlightError {
            #expect(error.message.hasPrefix(directory + "/rank-0.json: not a flight record"))
        }
    }
}
