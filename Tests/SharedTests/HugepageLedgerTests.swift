#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Shared

struct HugepageLedgerTests {
    func tempDir() -> String {
        var template = Array("/tmp/tilectl-ledger-XXXXXX".utf8CString)
        let p = mkdtemp(&template)!
        return String(cString: p)
    }

    @Test func adoptsOnlyDeadRunsAndNeverConfigure() throws {
        let dir = tempDir()
        defer { unlink(dir + "/.reservations"); unlink(dir + "/.reservations.lock"); rmdir(dir) }
        let ledger = HugepageLedger(directory: dir)
        let me = HugepageLedger.runOwner()
        try ledger.add(owner: HugepageLedger.configureOwner, .huge, 10)
        try ledger.add(owner: "run:999999999:1", .huge, 4)  // no such process
        try ledger.add(owner: me, .huge, 3)  // alive
        #expect(HugepageLedger.isAlive(me))
        #expect(!HugepageLedger.isAlive("run:999999999:1"))
        let adopted = try ledger.adoptDeadRuns(as: "run:1:new")
        #expect(adopted == [.huge: 4])
        let owners = ledger.read().map(\.owner)
        #expect(owners == [HugepageLedger.configureOwner, "run:1:new", me])
    }

    @Test func forgetsEntriesFromAnEarlierBoot() throws {
        let dir = tempDir()
        defer { unlink(dir + "/.reservations"); unlink(dir + "/.reservations.lock"); rmdir(dir) }
        try Files.replace(dir + "/.reservations", "configure 2048 5 some-old-boot-id\n")
        let ledger = HugepageLedger(directory: dir)
        try ledger.update { _ in }
        #expect(ledger.read().isEmpty)
        #expect(!Files.exists(dir + "/.reservations"))
    }

    @Test func aNodesReservationIsRecordedWithItsNode() throws {
        let dir = tempDir()
        defer { unlink(dir + "/.reservations"); unlink(dir + "/.reservations.lock"); rmdir(dir) }
        let ledger = HugepageLedger(directory: dir)
        try ledger.add(owner: HugepageLedger.configureOwner, .huge, node: 1, 6)
        try ledger.add(owner: HugepageLedger.configureOwner, .huge, 2)
        #expect(ledger.read().map(\.node) == [1, nil])
        let text = try Files.read(dir + "/.reservations")
        #expect(text.hasPrefix("configure 2048 6 1 "), "\(text)")
    }
}
