import Testing
import Distributed

@Suite struct SingleProcessCommunicatorTests {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom on purpose" } }

    @Test func collectivesAreTheIdentity() throws {
        let comm = SingleProcessCommunicator()
        #expect(comm.rank == 0 && comm.size == 1 && comm.isRoot)
        var f: [Float] = [1, 2, 3]
        try comm.allReduceSum(&f)
        #expect(f == [1, 2, 3])
        var d: [Double] = [4, -1]
        try comm.allReduceMax(&d)
        #expect(d == [4, -1])
        #expect(try comm.globalSum(Int64(5)) == 5)
        let gathered: [Int64] = try comm.allGather([7, 8])
        #expect(gathered == [7, 8])
        #expect(try comm.allGather(strings: "x") == ["x"])
        #expect(try comm.broadcast(string: "hello") == "hello")
    }

    @Test func agreeReturnsTheValueOrTheFailure() throws {
        let comm = SingleProcessCommunicator()
        #expect(try comm.agree { 41 + 1 } == 42)
        do {
            _ = try comm.agree { () throws -> Int in throw Boom() }
            Issue.record("agree did not throw")
        } catch let failure as CollectiveFailure {
            #expect(failure.rank == 0)
            #expect(failure.message == "boom on purpose")
        }
    }
}
