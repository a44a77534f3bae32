#if canImport(Glibc)
import Glibc
#endif
import Loopback
import MallocCounter
import Testing

@testable import MetricTile
@testable import Shared

/// A scrape in steady state allocates nothing: the exposition is rendered
/// into the preallocated ring, gzip reuses its state, every table is sized
/// at init. Counted with an interposed malloc, per thread.
@Suite(.serialized) struct ScrapeAllocationTests {
    @Test(arguments: [
        "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: application/openmetrics-text\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
        "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
    ])
    func aThousandScrapesAllocateNothing(_ request: String) throws {
        // 64 tiles' worth of series.
        let h = try ServerHarness(tiles: 64)
        let c = try h.connect()
        defer { close(c) }
        let bytes = Array(request.utf8)
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { sink.deallocate() }

        var allocations: UInt64 = 0
        var scrapes = 0
        for round in 0..<1010 {
            _ = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // Serve until the client has the whole response (the server
            // answers in one pass on loopback, or a few when sends are partial).
            var got = 0
            var polls = 0
            repeat {
                let before = malloc_counter_thread_allocations()
                h.server.poll(timeoutNanos: 1_000_000)
                let during = malloc_counter_thread_allocations() - before
                if round >= 10 { allocations += during }  // the first rounds may warm lazily-built state
                let n = recv(c, sink, 1 << 20, Int32(MSG_DONTWAIT))
                if n > 0 { got += n }
                polls += 1
            } while (got == 0 || h.server.table.counts.bytesWritten < UInt64(got)) && polls < 100
            if round >= 10 { scrapes += 1 }
        }
        #expect(scrapes == 1000)
        #expect(h.server.counters.responses.reduce(0, +) == 1010)
        #expect(allocations == 0, "\(allocations) heap allocations in 1000 scrapes")
    }

    /// Accepting, evicting and closing allocate nothing either: a new
    /// client every round, scraping once and staying (every tenth one
    /// asks to close, and is drained), more of them than there are slots,
    /// so that each accept past the first 128 evicts: a drained connection
    /// if there is one, else the longest idle.
    @Test func clientsComingAndGoingAllocateNothing() throws {
        let h = try ServerHarness(tiles: 8)
        let sink = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { sink.deallocate() }
        var clients: [Int32] = []
        clients.reserveCapacity(200)
        defer { clients.forEach { close($0) } }
        var allocations: UInt64 = 0
        for round in 0..<410 {
            let c = try h.connect()
            clients.append(c)
            Loopback.send(c, round % 10 == 0 ? "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" : Self.get)
            for _ in 0..<3 {
                let before = malloc_counter_thread_allocations()
                h.server.poll(timeoutNanos: 1_000_000)
                let during = malloc_counter_thread_allocations() - before
                if round >= 10 { allocations += during }
                for c in clients { while recv(c, sink, 1 << 20, Int32(MSG_DONTWAIT)) > 0 {} }
            }
            // The oldest clients leave: their connections end at EOF.
            if clients.count > 160 { close(clients.removeFirst()) }
        }
        #expect(h.server.active == MetricsServer.maxConnections)
        #expect(h.server.table.counts.evicted > 200, "\(h.server.table.counts.evicted) evicted")
        #expect(h.server.counters.responses.reduce(0, +) == 410)
        #expect(allocations == 0, "\(allocations) heap allocations in 400 clients coming and going")
    }

    static let get = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"

    @Test func theCounterCountsThisThread() {
        let before = malloc_counter_thread_allocations()
        let p = malloc(64)
        free(p)
        #expect(malloc_counter_thread_allocations() - before == 1)
    }
}
