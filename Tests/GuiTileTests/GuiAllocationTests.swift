#if canImport(Glibc)
import Glibc
#endif
import MallocCounter
import Testing

@testable import GuiTile
@testable import Shared

/// The gui tile in its steady state allocates nothing: a snapshot is read
/// into arrays sized at init and rendered into a preallocated frame, a
/// stream is sent that frame, a request is answered from buffers built at
/// init. Counted with an interposed malloc, per thread, around the
/// server's own calls only.
@Suite(.serialized) struct GuiAllocationTests {
    @Test func renderingSnapshotsAndServingSixteenStreamsAllocatesNothing() throws {
        let h = try GuiHarness()
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        for _ in 0..<GuiServer.maxStreams {
            let c = try h.connect()
            clients.append(c)
            h.send(c, "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:7998\r\n\r\n")
            h.pump(2)
        }
        #expect(h.server.streams == GuiServer.maxStreams)
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { sink.deallocate() }

        var allocations: UInt64 = 0
        var t: Int64 = Clock.monotonicNanos()
        for round in 0..<1010 {
            // The tiles move on between snapshots.
            for i in 0..<5 {
                h.fake.set(i, pid: UInt64(round), regimes: [.processing: UInt64(round) * 1000, .caughtUp: UInt64(round) * 3000])
            }
            h.fake.setLink(3, 1, consumed: UInt64(round) * 10, bytes: UInt64(round) * 640)
            t += 250_000_000
            let before = malloc_counter_thread_allocations()
            h.server.update(now: t)
            h.server.poll(timeoutNanos: 0)
            let during = malloc_counter_thread_allocations() - before
            if round >= 10 { allocations += during }
            for c in clients { while recv(c, sink, 1 << 20, Int32(MSG_DONTWAIT)) > 0 {} }
        }
        #expect(h.server.streams == GuiServer.maxStreams, "every stream kept up")
        #expect(h.server.counters.snapshots == 1011)
        #expect(allocations == 0, "\(allocations) heap allocations in 1000 snapshots to 16 streams")
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:7998\r\nAccept-Encoding: gzip\r\n\r\n",
        "GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:7998\r\n\r\n",
        "GET /app.css HTTP/1.1\r\nHost: 127.0.0.1:7998\r\nIf-None-Match: W/\"x\", *\r\n\r\n",
        "GET /api/v1/snapshot HTTP/1.1\r\nHost: 127.0.0.1:7998\r\nOrigin: http://127.0.0.1:7998\r\n\r\n",
        "HEAD /api/v1/snapshot HTTP/1.1\r\nHost: 127.0.0.1:7998\r\n\r\n",
        "GET /api/v1/snapshot HTTP/1.1\r\nHost: 127.0.0.1:7998\r\nOrigin: http://evil.example\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: 127.0.0.1:7998\r\n\r\n",
        "GET /api/v1/snapshot HTTP/1.1\r\nHost: attacker.example:7998\r\nOrigin: http://attacker.example:7998\r\n\r\n",
        "GET /app.js HTTP/1.1\r\nHost: GUI.example\r\n\r\n",
    ])
    func aThousandRequestsAllocateNothing(_ request: String) throws {
        let h = try GuiHarness(allowedHosts: ["other.example", "gui.example"])
        let c = try h.connect()
        defer { close(c) }
        let bytes = Array(request.utf8)
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { sink.deallocate() }
        var allocations: UInt64 = 0
        for round in 0..<1010 {
            _ = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var got = 0
            var polls = 0
            repeat {
                let before = malloc_counter_thread_allocations()
                h.server.poll(timeoutNanos: 1_000_000)
                let during = malloc_counter_thread_allocations() - before
                if round >= 10 { allocations += during }
                let n = recv(c, sink, 1 << 20, Int32(MSG_DONTWAIT))
                if n > 0 { got += n }
                polls += 1
            } while (got == 0 || h.server.table.counts.bytesWritten < UInt64(got)) && polls < 100
        }
        #expect(h.server.counters.responses.reduce(0, +) == 1010)
        #expect(allocations == 0, "\(allocations) heap allocations in 1000 requests")
    }

    @Test func streamsComingAndGoingAllocateNothing() throws {
        let h = try GuiHarness()
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { sink.deallocate() }
        var allocations: UInt64 = 0
        var clients: [Int32] = []
        clients.reserveCapacity(64)
        defer { clients.forEach { close($0) } }
        for round in 0..<210 {
            // A new page every round: past 16, each evicts the oldest.
            let c = try h.connect()
            clients.append(c)
            _ = "GET /api/v1/stream HTTP/1.1\r\nHost: localhost:7998\r\n\r\n".withCString {
                Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL))
            }
            let before = malloc_counter_thread_allocations()
            h.server.poll(timeoutNanos: 1_000_000)
            h.server.update(now: Clock.monotonicNanos())
            let during = malloc_counter_thread_allocations() - before
            if round >= 10 { allocations += during }
            for c in clients { while recv(c, sink, 1 << 20, Int32(MSG_DONTWAIT)) > 0 {} }
            if clients.count > 40 {
                close(clients.removeFirst())
            }
        }
        #expect(h.server.counters.streamsEvicted > 150)
        #expect(allocations == 0, "\(allocations) heap allocations in 200 stream starts")
    }
}
