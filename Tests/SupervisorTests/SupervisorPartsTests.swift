#if canImport(Glibc)
import Glibc
#endif
import Shared
import Testing

@testable import Supervisor

struct SupervisorPartsTests {
    @Test func waitStatusReadsLikeAUserWouldSayIt() {
        #expect(WaitStatus(raw: 3 << 8).description == "exited with code 3")
        #expect(WaitStatus(raw: 0).description == "exited with code 0")
        #expect(WaitStatus(raw: SIGKILL).description == "killed by SIGKILL")
        #expect(WaitStatus(raw: SIGSYS).description == "killed by SIGSYS (seccomp violation)")
        #expect(WaitStatus(raw: SIGSEGV | 0x80).description == "killed by SIGSEGV")  // core dumped
    }

    @Test func handoffRoundTripsThroughASealedMemfd() throws {
        let topology = try TopologyLoader(kinds: Registry.production).load(
            text: """
                name = "handoff"
                [tiles.metric]
                [tiles.synth]
                count = 3
                """, path: "h.toml")
        let layout = TopologyLayout(topology: topology, kinds: Registry.production, backing: .normal)
        let fd = try TopologyHandoff(topology: topology, layout: layout).seal()
        // Sealed: nobody can write it any more.
        #expect(Glibc.write(fd.rawValue, "x", 1) == -1 && errno == EPERM)
        #expect(ftruncate(fd.rawValue, 0) == -1)
        let back = try TopologyHandoff.open(FileDescriptor(rawValue: dup(fd.rawValue)))
        fd.close()
        #expect(back.topology == topology)
        #expect(back.layout == layout)
    }

    @Test func anUnsealedDescriptorIsRefused() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[1]) }
        #expect(throws: (any Error).self) { try TopologyHandoff.open(FileDescriptor(rawValue: fds[0])) }
    }

    @Test func checkReportListsTilesAndWorkspaces() throws {
        let topology = try TopologyLoader(kinds: Registry.production).load(
            text: """
                name = "report"
                [shmem]
                page_size = "normal"
                [tiles.metric]
                [tiles.synth]
                """, path: "r.toml")
        let plan = try ShmemPlanner.plan(topology, kinds: Registry.production, configPath: "r.toml", mode: .preview)
        let text = CheckCommand.report(topology, plan)
        #expect(
            text.contains(
                "metric:0  metric  0        healthz_max_heartbeat_age_ms=2000 prometheus_listen_address=\"127.0.0.1\" prometheus_listen_port=7999 request_timeout_ms=10000\n"
            ))
        #expect(text.contains("synth:0   synth   0        rate=1000 work_bytes=4096\n"))
        #expect(text.contains("/dev/shm/tilectl.report.XXXXXXXXXXXXXXXX/metric.0.wksp"))
        #expect(text.contains("  user        dynamic: each tile a uid and gid of its own, reserved at start from 2047934464–2047999999\n"))
        #expect(text.contains("page size   normal: page size normal (4 KiB, /dev/shm), as configured"))
    }
}
