#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `[layout] affinity`: each pinned tile runs on its CPU from before its
/// sandbox, as /proc and its own `tile_cpu` say; the floating metric tile
/// shares what is left.
extension Integration {
    @Suite struct AffinityTests {
        /// `Cpus_allowed_list` of a process, expanded.
        static func allowed(_ pid: String) throws -> [Int] {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
            return line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces).split(separator: ",").flatMap { part in
                let b = part.split(separator: "-").compactMap { Int($0) }
                return Array(b[0]...(b.count > 1 ? b[1] : b[0]))
            }
        }

        @Test func eachTileRunsOnItsAssignedCPUs() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[layout]\n", with: "[layout]\naffinity = \"auto\"\n") }
            // The default topology: metric:0 (floating), synth:0, synth:1.
            let mine = try Self.allowed("self")
            let synth = [[mine[0]], [mine[1 % mine.count]]]
            let left = mine.filter { !synth.joined().contains($0) }
            let expected: [String: [Int]] = [
                "kind=\"synth\",kind_id=\"0\"": synth[0], "kind=\"synth\",kind_id=\"1\"": synth[1],
                "kind=\"metric\",kind_id=\"0\"": left.isEmpty ? mine : left,
            ]

            let check = try tilectl(["check", "--config", fx.config])
            #expect(check.status == 0, "\(check.stderr)")
            let synthRow = check.stdout.split(separator: "\n").first { $0.hasPrefix("synth:1 ") }
            // TILE KIND KIND_ID CPU OPTIONS
            #expect(synthRow.map { Array($0.split(separator: " "))[3] } == "\(synth[1][0])", "\(check.stdout)")

            let run = try fx.boot()
            let metrics = samples(try fx.scrape().body)
            for (labels, cpus) in expected {
                let pid = try #require(metrics["tile_pid{\(labels)}"], "\(labels)")
                #expect(try Self.allowed(pid) == cpus, "\(labels): Cpus_allowed_list")
                if cpus.count == 1 { #expect(metrics["tile_cpu{\(labels)}"] == String(cpus[0]), "\(labels): tile_cpu") }
            }
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 10))
            #expect(run.exitStatus == 0, "\(run.stderr)")
        }

        @Test func aCPUThisMachineLacksIsOneLineWithItsPosition() throws {
            let fx = try Fixture()
            defer { fx.tearDown() }
            try fx.edit { $0.replacingOccurrences(of: "[layout]\n", with: "[layout]\naffinity = \"0,1023\"\n") }
            let r = try tilectl(["run", "--config", fx.config])
            #expect(r.status == 2)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(r.stderr)")
            #expect(
                lines.first?.contains("\(fx.config):17:12: affinity names CPU 1023, which tilectl may not use here") == true, "\(r.stderr)")
            #expect(fx.leftovers().isEmpty)
        }
    }
}
