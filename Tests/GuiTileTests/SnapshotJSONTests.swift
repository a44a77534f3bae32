import Foundation
import Testing

@testable import GuiTile
@testable import Shared

/// The snapshot document, rendered from metrics regions laid out as real
/// ones, and read back with Foundation's JSON parser.
struct SnapshotJSONTests {
    static func render(_ s: SnapshotJSON) throws -> (text: String, json: [String: Any]) {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: s.maxSize, alignment: 8)
        defer { out.deallocate() }
        let n = try #require(s.render(into: out))
        let data = Data(out[0..<n])
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (String(decoding: data, as: UTF8.self), json)
    }

    @Test func rendersTheDocumentThePageIsWrittenAgainst() throws {
        let fake = FakeTopology()
        let now = Clock.wallclockNanos()
        for i in 0..<5 { fake.set(i, pid: UInt64(100 + i), heartbeat: now) }
        fake.setLink(1, 0, consumed: 10, bytes: 640)
        fake.setLink(3, 1, consumed: 5, bytes: 320, filtered: 1, lost: 2)
        let s = fake.snapshot(intervalMs: 250)
        s.start(now: 1_000_000_000, wallclock: now)

        // Half a second later: verify:0 spent 3/4 of it processing, a
        // quarter caught up (a tenth of that housekeeping); the links moved.
        fake.set(
            1, pid: 101, heartbeat: now,
            regimes: [.processing: 375_000_000, .caughtUp: 75_000_000, .caughtUpHousekeeping: 50_000_000],
            inBackpressure: true, backpressure: 3)
        fake.set(2, pid: 102, status: .booting, heartbeat: now)
        fake.set(3, pid: 103, heartbeat: now - 5_000_000_000)
        fake.setLink(1, 0, consumed: 510, bytes: 32_640)
        fake.setLink(3, 1, consumed: 105, bytes: 6_720, filtered: 11, lost: 7)
        s.sample(now: 1_500_000_000, wallclock: now + 1_234_000)
        let (text, json) = try Self.render(s)

        #expect(!text.contains("\n") && !text.contains(" "), "one line, no blanks")
        #expect(text.hasPrefix("{\"schema\":\"urn:tilectl:schema:gui-snapshot:1\",\"topology\":\"validator\",\"seq\":0,"))
        #expect(json["interval_ms"] as? Int == 250)
        #expect(json["stale_after_ms"] as? Int == 2000)
        #expect(abs((json["sampled_at"] as? Double ?? 0) - Double((now + 1_234_000) / 1_000_000) / 1e3) < 1e-6)
        #expect(json["healthy"] as? Bool == false, "dedup:0 is stale and verify:1 boots")

        let tiles = try #require(json["tiles"] as? [[String: Any]])
        #expect(tiles.map { $0["name"] as? String } == ["source:0", "verify:0", "verify:1", "dedup:0", "gui:0"])
        #expect(tiles.map { $0["kind"] as? String } == ["source", "verify", "verify", "dedup", "gui"])
        #expect(tiles.map { $0["kind_id"] as? Int } == [0, 0, 1, 0, 0])
        #expect(tiles.map { $0["pid"] as? Int } == [100, 101, 102, 103, 104])
        #expect(tiles.map { $0["status"] as? String } == ["running", "running", "booting", "running", "running"])
        #expect(tiles.map { $0["stale"] as? Bool } == [false, false, false, true, false])
        #expect(tiles[3]["heartbeat_age_ms"] as? Int == 5001)
        #expect(tiles[0]["heartbeat_age_ms"] as? Int == 1)
        let v0 = tiles[1]
        #expect(v0["busy"] as? Double == 0.75)
        let shares = try #require(v0["regime_shares"] as? [String: Double])
        #expect(shares == ["caught_up": 0.25, "processing": 0.75, "backpressured": 0.0])
        #expect(v0["housekeeping_share"] as? Double == 0.1)
        #expect(v0["in_backpressure"] as? Bool == true)
        #expect(v0["backpressure_events"] as? Int == 3)
        #expect(
            Set(v0.keys) == [
                "name", "kind", "kind_id", "pid", "status", "heartbeat_age_ms", "stale", "busy", "regime_shares", "housekeeping_share",
                "in_backpressure", "backpressure_events",
            ])
        // No time accounted: not busy.
        #expect(tiles[0]["busy"] as? Double == 0.0)

        // One entry per (link instance, consumer).
        let links = try #require(json["links"] as? [[String: Any]])
        #expect(
            links.map { "\($0["link"]!) \($0["producer"]!) -> \($0["consumer"]!)" } == [
                "source_verify source:0 -> verify:0", "source_verify source:0 -> verify:1", "verify_dedup verify:0 -> dedup:0",
                "verify_dedup verify:1 -> dedup:0",
            ])
        #expect(links[0]["frags_per_second"] as? Double == 1000.0)
        #expect(links[0]["bytes_per_second"] as? Double == 64000.0)
        #expect(links[3]["frags_per_second"] as? Double == 200.0)
        #expect(links[3]["filtered_per_second"] as? Double == 20.0)
        #expect(links[3]["lost_per_second"] as? Double == 10.0)
        #expect(links[3]["lost"] as? Int == 7)
        #expect(
            Set(links[0].keys) == [
                "link", "producer", "consumer", "frags_per_second", "bytes_per_second", "filtered_per_second", "lost_per_second", "lost",
            ])
        #expect(text.contains("\"frags_per_second\":1000.0,"), "rates keep a decimal, as the page's format shows")
    }

    @Test func theQuantitiesAreTheMonitorsOwn() throws {
        // The same readings through Shared's TileActivity and LinkRates
        // (what `tilectl monitor` shows) give the rendered numbers.
        var a = TileSample(), b = TileSample()
        b.regimes[.processing] = 200
        b.regimes[.backpressured] = 100
        b.regimes[.caughtUp] = 700
        b.regimes[.processingHousekeeping] = 0
        let act = TileActivity(from: a, to: b, seconds: 0.5)
        #expect(act.caughtUp == 0.7 && act.processing == 0.2 && act.backpressured == 0.1)
        #expect(abs(act.busy - 0.3) < 1e-12)
        a.backpressureEvents = UInt64.max
        b.backpressureEvents = 1
        #expect(TileActivity(from: a, to: b, seconds: 1).backpressureEventsPerSecond == 2, "wraps, never traps")
    }

    @Test func worstCaseValuesStayWithinTheBoundAndParse() throws {
        // Whatever a tile writes (all 64 bits of every slot), the snapshot
        // fits its computed bound and is valid JSON.
        for value: UInt64 in [UInt64.max, 1 << 63, 0, 0x7FFF_FFFF_FFFF_FFFF] {
            let fake = FakeTopology(name: "q\"uote\\back\u{1}slash")
            fake.fill(value)
            let s = fake.snapshot()
            s.start(now: 0, wallclock: Int64.max)
            fake.fill(value &+ 1)
            s.sample(now: 1, wallclock: Int64.max)
            let (text, json) = try Self.render(s)
            #expect(text.utf8.count <= s.maxSize)
            #expect(json["topology"] as? String == "q\"uote\\back\u{1}slash")
            let tiles = try #require(json["tiles"] as? [[String: Any]])
            #expect(tiles.count == 5)
            #expect(tiles.allSatisfy { ["booting", "running", "shutdown", "unknown"].contains($0["status"] as? String ?? "") })
        }
    }

    @Test func aBufferTooSmallIsRefusedNotOverrun() {
        let fake = FakeTopology()
        let s = fake.snapshot()
        s.start(now: 0, wallclock: 0)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: s.maxSize, alignment: 8)
        defer { out.deallocate() }
        out.initializeMemory(as: UInt8.self, repeating: 0xEE)
        #expect(s.render(into: UnsafeMutableRawBufferPointer(rebasing: out[0..<100])) == nil)
        #expect(out[100..<out.count].allSatisfy { $0 == 0xEE })
    }

    @Test(arguments: [
        (0.0, 4, "0.0"), (1.0, 4, "1.0"), (0.42, 4, "0.42"), (0.001, 4, "0.001"), (0.12346, 4, "0.1235"), (1000.0, 1, "1000.0"),
        (64000.04, 1, "64000.0"), (2.5, 1, "2.5"), (-3.0, 1, "0.0"), (Double.nan, 1, "0.0"), (Double.infinity, 1, "1000000000000000.0"),
        (1e300, 4, "1000000000000000.0"), (0.99999, 4, "1.0"),
    ])
    func decimals(_ v: Double, _ places: Int, _ text: String) {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { out.deallocate() }
        var w = JSONWriter(out)
        w.decimal(v, places)
        #expect(String(decoding: out[0..<w.count], as: UTF8.self) == text)
    }
}
