#if canImport(Glibc)
import Glibc
#endif
import Shared
import Testing

@testable import Supervisor

/// The `sysctl` stage against a /proc/sys of its own: init sets what is
/// not as wanted and records what it found, check says which hold, fini
/// puts back exactly what init changed.
struct SysctlStageTests {
    struct Host {
        let root: String
        var stage: SysctlStage

        init() throws {
            var template = Array("/tmp/tilectl-sysctl-XXXXXX".utf8CString)
            root = String(cString: mkdtemp(&template)!)
            for d in ["proc/kernel", "proc/vm"] { try Files.makeDirectories("\(root)/\(d)") }
            stage = SysctlStage()
            stage.procSys = root + "/proc"
            stage.stateDirectory = root + "/run"
        }

        func set(_ name: String, _ value: String) throws {
            try Files.replace("\(root)/proc/\(name.replacing(".", with: "/"))", value + "\n")
        }
        func get(_ name: String) throws -> Int { try Files.readInt("\(root)/proc/\(name.replacing(".", with: "/"))") }

        func remove() {
            for f in ["kernel/numa_balancing", "kernel/timer_migration", "vm/stat_interval"] { unlink("\(root)/proc/\(f)") }
            for d in ["proc/kernel", "proc/vm", "proc", "run"] { rmdir("\(root)/\(d)") }
            rmdir(root)
        }
    }

    @Test func initSetsWhatIsNotAsWantedAndFiniPutsItBack() throws {
        let host = try Host()
        defer { host.remove() }
        try host.set("kernel.numa_balancing", "1")
        try host.set("kernel.timer_migration", "0")
        try host.set("vm.stat_interval", "1")

        let before = try host.stage.check()
        #expect(!before.ready)
        #expect(before.lines.contains { $0.hasPrefix("not ready: kernel.numa_balancing = 1, wants 0: automatic NUMA balancing") })
        #expect(before.lines.contains("ready: kernel.timer_migration = 0"))
        #expect(before.lines.contains { $0.hasPrefix("not ready: vm.stat_interval = 1, wants at least 10") })

        let did = try host.stage.initialize()
        #expect(
            did == [
                "set kernel.numa_balancing = 0 (was 1); `tilectl configure fini` puts it back",
                "kernel.timer_migration = 0 already",
                "set vm.stat_interval = 10 (was 1); `tilectl configure fini` puts it back",
            ])
        #expect(try host.get("kernel.numa_balancing") == 0)
        #expect(try host.get("vm.stat_interval") == 10)
        #expect(try host.stage.check().ready)

        // A second init changes nothing and keeps what the first one found.
        _ = try host.stage.initialize()
        #expect(host.stage.record.read().map { Array($0.prefix(2)) } == [["kernel.numa_balancing", "1"], ["vm.stat_interval", "1"]])

        let undone = try host.stage.finish()
        #expect(undone == ["restored kernel.numa_balancing = 1", "restored vm.stat_interval = 1"])
        #expect(try host.get("kernel.numa_balancing") == 1)
        #expect(try host.get("kernel.timer_migration") == 0, "not changed by init: not touched by fini")
        #expect(try host.get("vm.stat_interval") == 1)
        #expect(!Files.exists(host.root + "/run"), "nothing left behind")
        #expect(try host.stage.finish() == ["no setting was changed by init: nothing to undo"])
    }

    @Test func finiLeavesASettingSomeoneChangedSinceInit() throws {
        let host = try Host()
        defer { host.remove() }
        try host.set("kernel.numa_balancing", "0")
        try host.set("kernel.timer_migration", "1")
        try host.set("vm.stat_interval", "30")
        _ = try host.stage.initialize()
        #expect(try host.get("vm.stat_interval") == 30, "already at least 10: left as it is")
        try host.set("kernel.timer_migration", "1")  // an operator's own change
        #expect(try host.stage.finish() == ["left kernel.timer_migration = 1: changed since init set it to 0"])
    }

    @Test func aSettingThisKernelLacksIsNotAProblemUnlessItIsRequired() throws {
        let host = try Host()
        defer { host.remove() }
        try host.set("vm.stat_interval", "10")
        let check = try host.stage.check()
        #expect(check.ready)
        #expect(check.lines.contains("ready: kernel.numa_balancing is not in this kernel"))
        unlink(host.root + "/proc/vm/stat_interval")
        #expect(throws: RuntimeError.self) { try host.stage.check() }
    }
}
