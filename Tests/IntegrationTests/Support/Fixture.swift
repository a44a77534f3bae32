#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A topology for one test: the shipped default topology with a unique
/// name, a free port and its own hugetlbfs directory, so tests never touch
/// the host's /mnt/.tilectl or each other. `tearDown` undoes every system
/// change the run made (mounts, reserved pages) and checks it did.
final class Fixture {
    let name: String
    let port: Int
    let dir: String
    let hugetlbfs: String
    let config: String
    let hugepagesBefore: Int
    /// The kernel settings `configure init` may change, as they were.
    let sysctlsBefore: [String: String]

    /// A topology written out in full (it must have `name`, `[shmem]
    /// page_size` and `hugetlbfs_mount`, and `prometheus_listen_port` lines).
    convenience init(toml: String, pageSize: String = "normal") throws {
        try self.init("default.toml", pageSize: pageSize) { _ in toml }
    }

    init(_ base: String = "default.toml", pageSize: String = "auto", edit: (String) -> String = { $0 }) throws {
        name = "it-\(UUID().uuidString.prefix(8).lowercased())"
        port = HTTPClient.freePort()
        dir = NSTemporaryDirectory() + "tilectl-\(name)"
        hugetlbfs = dir + "/hugetlbfs"
        config = dir + "/topology.toml"
        hugepagesBefore = Fixture.hugepages()
        sysctlsBefore = Fixture.sysctls()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = edit(try String(contentsOfFile: Binary.packageRoot + "/configs/" + base, encoding: .utf8))
        text = text.replacingOccurrences(of: #"(?m)^name = .*$"#, with: "name = \"\(name)\"", options: .regularExpression)
        text = text.replacingOccurrences(
            of: #"(?m)^prometheus_listen_port = .*$"#, with: "prometheus_listen_port = \(port)",
            options: .regularExpression)
        text = text.replacingOccurrences(
            of: #"(?m)^hugetlbfs_mount = .*$"#, with: "hugetlbfs_mount = \"\(hugetlbfs)\"",
            options: .regularExpression)
        text = text.replacingOccurrences(
            of: #"(?m)^page_size = .*$"#, with: "page_size = \"\(pageSize)\"",
            options: .regularExpression)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Points `[log] path` at `path`.
    func setLogPath(_ path: String) throws {
        try edit { $0.replacingOccurrences(of: #"(?m)^path = .*$"#, with: "path = \"\(path)\"", options: .regularExpression) }
    }

    /// Points `[shmem] hugetlbfs_mount` at `path`.
    func setHugetlbfs(_ path: String) throws {
        try edit {
            $0.replacingOccurrences(of: #"(?m)^hugetlbfs_mount = .*$"#, with: "hugetlbfs_mount = \"\(path)\"", options: .regularExpression)
        }
    }

    func edit(_ change: (String) -> String) throws {
        try change(try String(contentsOfFile: config, encoding: .utf8)).write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// /proc/sys/<name> of each setting the `sysctl` stage manages.
    static let sysctlNames = ["kernel/numa_balancing", "kernel/timer_migration", "vm/stat_interval"]

    static func sysctls() -> [String: String] {
        var out: [String: String] = [:]
        for name in sysctlNames {
            out[name] = (try? String(contentsOfFile: "/proc/sys/" + name, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return out
    }

    static func hugepages() -> Int {
        Int(
            (try? String(contentsOfFile: "/proc/sys/vm/nr_hugepages", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0
    }

    /// Starts `tilectl run` and waits until every tile is running.
    func boot(
        timeout: Double = 30, binary: String = Binary.tilectl, extra: [String] = [], environment: [String: String] = [:]
    ) throws -> LiveProcess {
        let p = try LiveProcess(
            binary, ["run", "--config", config] + extra,
            environment: environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { _, new in new })
        guard p.waitForOutput("is up:", timeout: timeout) else {
            p.kill(SIGKILL)
            _ = p.waitForExit(timeout: 5)
            throw TestFailure("the topology did not come up:\n\(p.stderr)")
        }
        return p
    }

    /// Workspace and lock files of this topology that exist right now.
    func leftovers() -> [String] {
        var found: [String] = []
        for d in ["/dev/shm", hugetlbfs + "/.huge", hugetlbfs + "/.gigantic"] {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where f.hasPrefix("tilectl.\(name).") {
                found.append(d + "/" + f)
            }
        }
        return found
    }

    /// Undoes what the runs did to the host, then checks nothing is left.
    func tearDown() {
        _ = try? tilectl(["configure", "fini", "--config", config])
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        #expect(!mounts.contains(hugetlbfs), "hugetlbfs left mounted under \(hugetlbfs)")
        let now = Fixture.hugepages()
        #expect(now == hugepagesBefore, "nr_hugepages was \(hugepagesBefore) before the test, \(now) after")
        if now != hugepagesBefore {
            try? "\(hugepagesBefore)\n".write(toFile: "/proc/sys/vm/nr_hugepages", atomically: false, encoding: .utf8)
        }
        let settings = Fixture.sysctls()
        #expect(settings == sysctlsBefore, "kernel settings before the test: \(sysctlsBefore), after: \(settings)")
        for (name, value) in sysctlsBefore where settings[name] != value {
            try? "\(value)\n".write(toFile: "/proc/sys/" + name, atomically: false, encoding: .utf8)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func scrape(_ path: String = "/metrics") throws -> HTTPResponse {
        try HTTPClient.request(port: port, path: path)
    }

    /// Host pids of every tile, from `tile_pid`.
    func tilePids() throws -> [String: Int32] {
        var out: [String: Int32] = [:]
        for (series, value) in samples(try scrape().body) where series.hasPrefix("tile_pid{") {
            out[series] = Int32(value)
        }
        return out
    }
}

let isRoot = geteuid() == 0

/// Every integration test, one at a time: they share the host's huge page
/// pool and assert on it.
@Suite(.serialized, .enabled(if: isRoot, "boots real topologies, mounts hugetlbfs and reserves pages: run as root"))
enum Integration {}
