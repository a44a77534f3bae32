#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `run --for … --expect …`: a topology as a pass/fail test, as a CI job
/// runs it, with its JUnit report read by junitparser.
extension Integration {
    @Suite struct CIModeTests {
        static let reader = Binary.packageRoot + "/Tests/Scripts/read-junit.py"

        func junit(_ path: String) throws -> [String: Any] {
            let (rc, out) = try runScript(Self.reader, [path], input: Data())
            #expect(rc == 0, "\(out)")
            return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        }

        @Test func passingAndFailingExpectationsAreEachNamedWithTheirValue() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let report = fx.dir + "/junit.xml"
            let r = try tilectl(
                [
                    "run", "--config", fx.config, "--for", "2s", "--junit", report,
                    "--expect", #"count(tile_status{kind="synth"}) == 2"#,
                    "--expect", "sum(rate(synth_work_items_total)) > 10",
                    "--expect", "sum(rate(synth_work_items_total)) > 1e9",
                    "--expect", "tile_status > 0",
                ], timeout: 60)
            #expect(r.status == 1, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(r.stdout)")
            #expect(lines[0] == #"ok    count(tile_status{kind="synth"}) == 2: 2 == 2"#)
            #expect(lines[1].wholeMatch(of: /ok    sum\(rate\(synth_work_items_total\)\) > 10: [0-9.]+ > 10/) != nil, "\(lines[1])")
            #expect(
                lines[2].wholeMatch(of: /FAIL  sum\(rate\(synth_work_items_total\)\) > 1e9: [0-9.]+ is not > 1000000000/) != nil,
                "\(lines[2])")
            #expect(lines[3] == "FAIL  tile_status > 0: tile_status matches 3 series; wrap it in sum, min, max or count")
            #expect(r.stderr.contains("run --for: 2 of 4 expectations hold; stopping the topology"))
            #expect(r.stderr.contains("every tile halted"), "stopped in order")

            let j = try junit(report)
            #expect(j["tests"] as? Int == 4 && j["failures"] as? Int == 2 && j["errors"] as? Int == 0)
            let suite = try #require((j["suites"] as? [[String: Any]])?.first)
            #expect(suite["name"] as? String == fx.name)
            let cases = try #require(suite["cases"] as? [[String: Any]])
            #expect(
                cases.map { $0["name"] as? String } == [
                    #"count(tile_status{kind="synth"}) == 2"#, "sum(rate(synth_work_items_total)) > 10",
                    "sum(rate(synth_work_items_total)) > 1e9", "tile_status > 0",
                ])
            #expect(cases.map { $0["passed"] as? Bool } == [true, true, false, false])
            let failure = try #require((cases[3]["results"] as? [[String: Any]])?.first)
            #expect(failure["kind"] as? String == "Failure" && failure["type"] as? String == "ExpectationFailed")
            #expect((failure["message"] as? String)?.hasSuffix("wrap it in sum, min, max or count") == true)
            #expect(fx.leftovers().isEmpty)
        }

        @Test func untilStopsAsSoonAsEveryExpectationHolds() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let t0 = Date()
            let r = try tilectl(
                ["run", "--config", fx.config, "--for", "60s", "--until", "--expect", "sum(synth_work_items_total) > 100"], timeout: 90)
            let took = Date().timeIntervalSince(t0)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("ok    sum(synth_work_items_total) > 100: "), "\(r.stdout)")
            #expect(took < 30, "--until stopped after \(took) s of at most 60")
        }

        @Test func aBadExpressionIsOneLineAndStartsNothing() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let r = try tilectl(["run", "--config", fx.config, "--for", "5s", "--expect", "sum(x > 1"])
            #expect(r.status == 2)
            #expect(r.stderr == "tilectl: error: --expect 'sum(x > 1', column 7: expected ')' to close sum(\n")
            #expect(fx.leftovers().isEmpty)
        }

        @Test func aTileThatDiesFailsTheRunWithItsName() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let report = fx.dir + "/junit.xml"
            let run = try fx.boot(extra: ["--for", "60s", "--junit", report, "--expect", "count(tile_status) == 3"])
            defer { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) }
            let pids = try fx.tilePids()
            let synth = try #require(pids.first { $0.key.contains(#"kind="synth",kind_id="1""#) }?.value)
            kill(synth, SIGKILL)
            #expect(run.waitForExit(timeout: 30))
            #expect(run.exitStatus == 1)
            #expect(run.stderr.contains("tile synth:1 killed by SIGKILL; the topology is stopped"), "\(run.stderr)")
            let j = try junit(report)
            #expect(j["tests"] as? Int == 1 && j["errors"] as? Int == 1, "\(j)")
            let result = ((j["suites"] as? [[String: Any]])?.first?["cases"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]
            #expect(result?.first?["type"] as? String == "TileDied")
            #expect(result?.first?["message"] as? String == "tile synth:1 killed by SIGKILL")
        }

        /// A second run of a running topology cannot start: the report says
        /// so rather than being left empty.
        @Test func aTopologyThatDoesNotStartStillWritesItsReport() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let first = try fx.boot()
            defer { first.kill(SIGTERM); _ = first.waitForExit(timeout: 10) }
            let report = fx.dir + "/junit.xml"
            let r = try tilectl(["run", "--config", fx.config, "--for", "5s", "--junit", report, "--expect", "count(tile_status) == 3"])
            #expect(r.status == 1)
            let j = try junit(report)
            #expect(j["tests"] as? Int == 1 && j["errors"] as? Int == 1, "\(j)")
            let result = ((j["suites"] as? [[String: Any]])?.first?["cases"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]
            #expect(result?.first?["type"] as? String == "DidNotStart")
            #expect(
                (result?.first?["message"] as? String)?.hasPrefix("the topology did not start: ") == true, "\(String(describing: result))")
        }
    }
}
