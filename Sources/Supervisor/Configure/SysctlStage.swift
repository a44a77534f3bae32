#if canImport(Glibc)
import Glibc
#endif
import Shared

/// `sysctl`: the kernel settings a host running spinning, pinned tiles
/// wants. Each is set only when it is not already as wanted, and the value
/// found is recorded, so `fini` puts back exactly what `init` changed (and
/// leaves alone a setting someone changed again since).
struct SysctlStage: ConfigureStage {
    static let name = "sysctl"
    static let summary = "kernel settings for spinning, pinned tiles (tuned's network-latency)"

    /// One setting: its sysctl name, the value wanted, and why.
    struct Setting: Equatable {
        enum Rule: Equatable {
            case exactly, atLeast
        }
        let name: String
        let value: Int
        let rule: Rule
        /// A kernel built without the feature has no such file: nothing to do.
        let optional: Bool
        let reason: String

        /// `vm.stat_interval` → `vm/stat_interval`, under /proc/sys.
        var relativePath: String { name.replacing(".", with: "/") }
        var wanted: String { rule == .exactly ? "\(value)" : "at least \(value)" }

        func holds(_ found: Int) -> Bool { rule == .exactly ? found == value : found >= value }
    }

    /// The settings, each in tuned's `network-latency` profile (the values
    /// Red Hat ships for latency-bound hosts) for the reason given.
    static let lowLatency: [Setting] = [
        Setting(
            name: "kernel.numa_balancing", value: 0, rule: .exactly, optional: true,
            reason:
                "automatic NUMA balancing unmaps pages of running tasks to sample where they are used and migrates them: "
                + "page faults and TLB shootdowns on spinning tiles, whose workspaces are already on their tile's node"),
        Setting(
            name: "kernel.timer_migration", value: 0, rule: .exactly, optional: true,
            reason:
                "with migration on, timers armed on idle CPUs are run by busy ones, and a CPU with a spinning tile is "
                + "never idle"),
        Setting(
            name: "vm.stat_interval", value: 10, rule: .atLeast, optional: false,
            reason: "the per-CPU vmstat worker interrupts every CPU, spinning tiles' too, once per interval (1 s by default)"),
    ]

    var settings: [Setting] = SysctlStage.lowLatency
    /// Where the settings are (tests point it at a directory of their own).
    var procSys = "/proc/sys"
    /// Where the values found are kept until `fini`: /run, which a reboot
    /// empties, as it resets the settings.
    var stateDirectory = "/run/tilectl"

    /// `name found set`, one line per setting `init` changed.
    var record: RecordFile { RecordFile(directory: stateDirectory, name: "sysctl") }

    func path(_ s: Setting) -> String { "\(procSys)/\(s.relativePath)" }

    /// The current value; nil when the kernel has no such setting and the
    /// setting is optional.
    func read(_ s: Setting) throws -> Int? {
        if s.optional && !Files.exists(path(s)) { return nil }
        do { return try Files.readInt(path(s)) } catch let e as RuntimeError {
            throw e.within("sysctl \(s.name)")
        }
    }

    func check() throws -> StageCheck {
        var result = StageCheck(ready: true, lines: [])
        for s in settings {
            guard let found = try read(s) else {
                result.lines.append("ready: \(s.name) is not in this kernel")
                continue
            }
            if s.holds(found) {
                result.lines.append("ready: \(s.name) = \(found)")
            } else {
                result.ready = false
                result.lines.append("not ready: \(s.name) = \(found), wants \(s.wanted): \(s.reason)")
            }
        }
        return result
    }

    func initialize() throws -> [String] {
        try record.update { records in
            var lines: [String] = []
            for s in settings {
                guard let found = try read(s) else {
                    lines.append("\(s.name) is not in this kernel: nothing to do")
                    continue
                }
                guard !s.holds(found) else {
                    lines.append("\(s.name) = \(found) already")
                    continue
                }
                do { try Files.write(path(s), "\(s.value)\n") } catch let e as RuntimeError {
                    throw e.within("sysctl \(s.name)")
                }
                // A second init keeps the value the first one found.
                if !records.contains(where: { $0.first == s.name }) {
                    records.append([s.name, "\(found)", "\(s.value)"])
                }
                lines.append("set \(s.name) = \(s.value) (was \(found)); `tilectl configure fini` puts it back")
            }
            return lines
        }
    }

    func finish() throws -> [String] {
        let lines: [String] = try record.update { records in
            var lines: [String] = []
            for r in records {
                guard r.count == 3, let found = Int(r[1]), let set = Int(r[2]),
                    let s = settings.first(where: { $0.name == r[0] })
                else { continue }
                let now = try read(s)
                if now == set {
                    do { try Files.write(path(s), "\(found)\n") } catch let e as RuntimeError {
                        throw e.within("sysctl \(s.name)")
                    }
                    lines.append("restored \(s.name) = \(found)")
                } else {
                    lines.append("left \(s.name) = \(now.map(String.init) ?? "absent"): changed since init set it to \(set)")
                }
            }
            records = []
            return lines
        }
        record.removeLockIfUnused()
        TrustedDirectory.removeEmpty(stateDirectory)
        return lines.isEmpty ? ["no setting was changed by init: nothing to undo"] : lines
    }
}
