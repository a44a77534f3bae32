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
            #expect(initd.stdout.contains("hugetlbfs: mounted hugetlbfs (2 MiB) at \(fx.hugetlbfs)/.huge"))
            // The sysctl stage: each setting as tuned's network-latency has it.
            let settings = Fixture.sysctls()
            #expect(settings["kernel/timer_migration"] == "0" && settings["vm/stat_interval"].flatMap { Int($0) }! >= 10, "\(settings)")
            #expect(settings["kernel/numa_balancing"] == nil || settings["kernel/numa_balancing"] == "0")
            if fx.sysctlsBefore["vm/stat_interval"] == "1" {
                #expect(initd.stdout.contains("sysctl: set vm.stat_interval = 10 (was 1); `tilectl configure fini` puts it back"))
            }
            let ready = try tilectl(["configure", "check", "--config", fx.config])
            #expect(ready.status == 0, "\(ready.stdout)")
            #expect(ready.stdout.contains("sysctl: ready: kernel.timer_migration = 0"))
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
            #expect(fini.stdout.contains("hugetlbfs: unmounted \(fx.hugetlbfs)/.huge"))
            #expect(Fixture.hugepages() == fx.hugepagesBefore)
            #expect(Fixture.sysctls() == fx.sysctlsBefore, "fini puts back every setting init changed")
            #expect(!FileManager.default.fileExists(atPath: fx.hugetlbfs))
        }

        /// Pinned tiles: each one's workspace, and each link it produces, is
        /// bound to the NUMA node of its CPU, its huge pages reserved from
        /// that node's pool, as the tile's own /proc/PID/numa_maps shows.
        @Test func pinnedTilesWorkspacesAreBoundToTheirNode() throws {
            let fx = try Fixture(pageSize: "huge")
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[layout]\n", with: "[layout]\naffinity = \"auto\"\n") }
            let initd = try tilectl(["configure", "init", "hugetlbfs", "--config", fx.config])
            #expect(initd.status == 0, "\(initd.stderr)")
            #expect(!initd.stdout.contains("sysctl:"), "only the stage named")
            #expect(initd.stdout.contains("2 MiB pages on node 0"), "\(initd.stdout)")
            let check = try tilectl(["check", "--config", fx.config])
            #expect(check.stdout.contains("PAGES  NODE  FILE"), "\(check.stdout)")

            let run = try fx.boot()
            defer {
                run.kill(SIGTERM)
                _ = run.waitForExit(timeout: 10)
            }
            let prefix = "tilectl.\(fx.name)."
            for (series, value) in samples(try fx.scrape().body) where series.hasPrefix("tile_pid{") {
                // tile_pid{kind="synth",kind_id="1"} → synth.1
                let labels = series.split(separator: "\"")
                let own = "\(prefix)\(labels[1]).\(labels[3]).wksp"
                let maps = try String(contentsOfFile: "/proc/\(value)/numa_maps", encoding: .utf8).split(separator: "\n")
                let mine = maps.filter { $0.contains("/\(own) ") }
                #expect(!mine.isEmpty, "\(series): its workspace in its numa_maps")
                // Written to by the tile: bound; read-only views of others: not.
                #expect(mine.contains { $0.contains(" bind:0 ") && $0.contains(" N0=") }, "\(series): \(mine)")
            }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }

        /// A run of pinned tiles reserves its pages from their node's pool
        /// and gives them back to it when it stops, confined as it then is.
        @Test func aPinnedRunGivesBackTheNodesPagesItReserved() throws {
            let fx = try Fixture(pageSize: "auto")
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[layout]\n", with: "[layout]\naffinity = \"auto\"\n") }
            let node0 = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
            let before = try String(contentsOfFile: node0, encoding: .utf8)
            let run = try fx.boot()
            defer { if run.exitStatus == nil { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) } }
            #expect(run.stderr.contains("page size huge (2 MiB)"), "\(run.stderr)")
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
            // Before tearDown's `configure fini`, which would hide a leak the ledger knows of.
            #expect(Fixture.hugepages() == fx.hugepagesBefore, "nr_hugepages \(Fixture.hugepages()), \(fx.hugepagesBefore) before")
            #expect(try String(contentsOfFile: node0, encoding: .utf8) == before, "node 0's pool as it was")
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
