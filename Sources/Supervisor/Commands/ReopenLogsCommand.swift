#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Shared

/// `tilectl reopen-logs`: what logrotate's postrotate runs. Asks the
/// supervisor of each running topology (or of `--config`'s) to reopen its
/// log file, by SIGUSR1: logrotate has moved the file away, and lines keep
/// going to the moved file, whole, until the supervisor opens the new one.
struct ReopenLogsCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "reopen-logs",
        abstract: "Make running topologies reopen their log file (after logrotate moved it).",
        discussion: """
            Sends SIGUSR1 to the supervisor of the topology in --config, or of every topology running \
            for this user when there is none (as configs/logrotate/tilectl's postrotate does). The \
            supervisor logs `reopened the log file …` as the first line of the new file. Exit status \
            0 when every supervisor was signalled (or none runs), 1 when one could not be.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Only this topology's supervisor (its TOML file).", valueName: "file"))
    var config: String?

    func run(kinds: TileKinds) throws {
        let names: [String]
        if let config {
            names = [try TopologyLoader(kinds: kinds).load(path: config).name]
        } else {
            names = ((try? FileManager.default.contentsOfDirectory(atPath: RuntimeRoot.path)) ?? []).sorted()
        }
        var failed: [String] = []
        for name in names {
            switch RunDescriptor.find(name) {
            case .running(let run):
                // The lock is held, so the pid is the supervisor's; its
                // name (the binary's) says so too before it is signalled.
                let comm = (try? Files.read("/proc/\(run.supervisorPid)/comm"))?.trimmingWhitespace ?? ""
                let isSupervisor = comm.hasPrefix("tilectl") && comm != "tilectl-reaper"
                guard isSupervisor, kill(run.supervisorPid, SIGUSR1) == 0 else {
                    failed.append(
                        "\(name) (supervisor pid \(run.supervisorPid): \(isSupervisor ? Errno.describe(errno) : "is \"\(comm)\""))")
                    continue
                }
                print("topology \(name): asked supervisor pid \(run.supervisorPid) to reopen its log file")
            case .untrusted(let why):
                failed.append("\(name) (\(why))")
            case .starting, .notRunning:
                if config != nil { failed.append("\(name) (not running)") }
            }
        }
        if !failed.isEmpty { throw RuntimeError("could not signal: " + failed.joined(separator: "; ")) }
    }
}
