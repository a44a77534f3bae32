#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `configure init|check|fini` prepare and undo the host's huge pages; a
/// topology with page_size = "huge" runs only on a configured host.
extension Integration {
    @Suite struct ConfigureTests {
        @Test func initCheckRunFiniRoundTrip() throws {
            let fx = try Fixture(pageSize: "huge")
            defer { fx.tearDown() }

            let before = try tilectl(["configure", "check", "--config", fx.config])
            #expect(before.status == 1)
            #expect(before.stdout.contains("not ready: no hugetlbfs (2 MiB) mounted at \(fx.hugetlbfs)/.huge"))
            #expect(before.stdout.contains("fix: sudo tilectl configure init --config \(fx.config)"))

            // Strict huge pages on an unconfigured host: one line naming the fix.
            let refused = try tilectl(["run", "--config", fx.config])
            #expect(refused.status == 1)
            #expect(refused.stderrLines.count == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("page_size = \"huge\" needs 22 free 2 MiB pages"))
            #expect(refused.stderr.contains("tilectl configure init --config \(fx.config)"))
            #expect(fx.leftovers().isEmpty)

            let initd = try tilectl(["configure", "init", "--config", fx.config])
            #expect(initd.status == 0, "\(initd.stderr)")
            #expect(initd.stdout.contains("mounted hugetlbfs (2 MiB) at \(fx.hugetlbfs)/.huge"))
            #expect(try tilectl(["configure", "check", "--config", fx.config]).status == 0)
            #expect(Fixture.hugepages() >= fx.hugepagesBefore + 22 || fx.hugepagesBefore >= 22)

            let run = try fx.boot()
            #expect(run.stderr.contains("page size huge (2 MiB), as configured"))
            let files = fx.leftovers().filter { $0.hasSuffix(".wksp") }
            #expect(files.count == 3 && files.allSatisfy { $0.hasPrefix(fx.hugetlbfs + "/.huge/") }, "\(files)")
            // fini refuses while a topology uses the mount.
            let busy = try tilectl(["configure", "fini", "--config", fx.config])
            #expect(busy.status == 1)
            #expect(busy.stderr.contains("a topology is running; stop it first"))
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0)

            let fini = try tilectl(["configure", "fini", "--config", fx.config])
            #expect(fini.status == 0, "\(fini.stderr)")
            #expect(fini.stdout.contains("unmounted \(fx.hugetlbfs)/.huge"))
            #expect(Fixture.hugepages() == fx.hugepagesBefore)
            #expect(!FileManager.default.fileExists(atPath: fx.hugetlbfs))
        }

        @Test func checkPrintsEveryTileAndWorkspace() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            let r = try tilectl(["check", "--config", fx.config])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines[0] == "topology \"\(fx.name)\" (\(fx.config)): 3 tiles of 2 kinds")
            #expect(lines.contains { $0.hasPrefix("metric:0  metric  0") && $0.contains("prometheus_listen_port=\(fx.port)") })
            #expect(lines.contains { $0.hasPrefix("synth:1   synth   1") })
            #expect(lines.contains { $0.hasPrefix("metric.0   36 MiB     2 MiB      18") })
            #expect(lines.last?.hasPrefix("total") == true)
            // check changes nothing.
            #expect(!FileManager.default.fileExists(atPath: fx.hugetlbfs))
        }
    }
}
