#if canImport(Glibc)
import Glibc
#endif

/// Where a connection is in its life (`ConnectionServer` moves it on).
package enum ConnectionState: Sendable {
    /// The slot holds no connection.
    case free
    /// Waiting for a request, or for the rest of one.
    case reading
    /// Sending a response.
    case writing
    /// Sent a response that does not end (the gui's Server-Sent Events):
    /// it takes one message after another, is read only to see its end,
    /// never times out, and is evicted only when every slot is a stream.
    case streaming
    /// The response that ends the connection is sent and the write side
    /// shut; what the client still sends is read and discarded.
    case draining
}

/// A server's own part of a connection: the response it is sending.
package protocol ConnectionResponse {
    /// No response.
    init()
    /// Whether bytes are queued that are not sent yet (a stream waits for
    /// POLLOUT only then).
    var unsent: Bool { get }
}

/// One slot of a `ConnectionTable`: what the state machine needs of every
/// connection, and the server's response.
package struct ConnectionSlot<Response: ConnectionResponse> {
    package var fd: Int32 = -1
    package var state = ConnectionState.free
    /// Bytes of request data in the slot's request buffer.
    package var buffered = 0
    /// Whether the connection ends once its response is sent.
    package var closeAfterResponse = false
    /// Monotonic ns: when the connection became ready for its next request
    /// (a stream: when it began).
    package var waitingSince: Int64 = 0
    /// Monotonic ns: when the response last made progress (draining: when
    /// it began).
    package var lastProgress: Int64 = 0
    /// Bytes read and discarded since draining began (a stream: since it began).
    package var drained = 0
    package var response = Response()

    package init() {}

    /// A connection just accepted, waiting for its request.
    init(accepted fd: Int32, at now: Int64) {
        self.fd = fd
        state = .reading
        waitingSince = now
        lastProgress = now
    }
}

/// What happens to the connections of a table, counted by
/// `ConnectionServer` (and the bytes written, by the server's `write`);
/// each tile publishes them as its `bytes_read`, `bytes_written`,
/// `conn_evicted` and `conn_timed_out`.
package struct ConnectionCounts: Sendable {
    /// Bytes read from clients, drained ones included.
    package var bytesRead: UInt64 = 0
    /// Bytes written to clients.
    package var bytesWritten: UInt64 = 0
    /// Connections closed to make room for a new one.
    package var evicted: UInt64 = 0
    /// Connections closed for not completing a request, or not taking any
    /// of their response, within the request timeout.
    package var timedOut: UInt64 = 0
}

/// The fixed table of connections of a single-threaded HTTP server, and
/// everything it polls with: sized once at init, never grown, so that
/// serving allocates nothing. `ConnectionServer` runs the state machine
/// over it; the server reads and writes its slots directly.
package final class ConnectionTable<Response: ConnectionResponse> {
    package var slots: [ConnectionSlot<Response>]
    /// Slots not free.
    package internal(set) var active = 0
    /// Kept here, not in the server: the generic state machine updates
    /// them in place (through a protocol requirement, a debug build would
    /// allocate a coroutine frame per update).
    package var counts = ConnectionCounts()
    /// The request buffer of slot `i` is `maxRequestBytes` bytes at
    /// `requestBuffers + i * maxRequestBytes`.
    package let requestBuffers: UnsafeMutableRawPointer
    package let maxRequestBytes: Int
    /// How long a connection may take to send a request, or to take any
    /// of its response, in ns.
    let requestTimeoutNanos: Int64
    /// The listener, then every connection polled.
    let pollFDs: UnsafeMutablePointer<pollfd>
    /// For each pollfd after the listener, its slot.
    let pollSlots: UnsafeMutablePointer<Int>
    /// Where the search for a slow reader to evict starts: round robin.
    var evictCursor = 0

    /// `requestBuffers` holds `count * maxRequestBytes` bytes and stays
    /// owned by the caller.
    package init(count: Int, requestBuffers: UnsafeMutableRawPointer, maxRequestBytes: Int, requestTimeoutNanos: Int64) {
        slots = [ConnectionSlot<Response>](repeating: ConnectionSlot(), count: count)
        self.requestBuffers = requestBuffers
        self.maxRequestBytes = maxRequestBytes
        self.requestTimeoutNanos = requestTimeoutNanos
        pollFDs = .allocate(capacity: count + 1)
        pollSlots = .allocate(capacity: count + 1)
        pollSlots.initialize(repeating: -1, count: count + 1)
    }

    deinit {
        pollFDs.deallocate()
        pollSlots.deallocate()
    }

    package func requestBuffer(_ slot: Int) -> UnsafeMutableRawPointer { requestBuffers + slot * maxRequestBytes }

    /// The slot's buffered bytes, from the start of its buffer.
    package func buffered(_ slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: requestBuffer(slot), count: slots[slot].buffered)
    }

    /// Drops the first `count` buffered bytes (a request head that is
    /// answered); pipelined bytes after them stay for the next turn.
    package func consume(_ slot: Int, _ count: Int) {
        let rest = slots[slot].buffered - count
        if rest > 0 { requestBuffer(slot).copyMemory(from: requestBuffer(slot) + count, byteCount: rest) }
        slots[slot].buffered = rest
    }

    /// The slot in `state` with the earliest `waitingSince` (the first of
    /// equals), or -1 when there is none.
    package func oldest(_ state: ConnectionState) -> Int {
        var oldest = -1
        for i in 0..<slots.count where slots[i].state == state {
            if oldest < 0 || slots[i].waitingSince < slots[oldest].waitingSince { oldest = i }
        }
        return oldest
    }

    /// A loop, not `firstIndex(where:)`: unspecialised (a debug build), its
    /// closure allocates per element, and accepting allocates nothing.
    func freeSlot() -> Int? {
        for i in 0..<slots.count where slots[i].state == .free { return i }
        return nil
    }

    /// How long a connection has waited, for eviction: `waitingSince`, and
    /// a stream after every other connection.
    func evictionRank(_ slot: Int) -> Int64 { slots[slot].state == .streaming ? .max : slots[slot].waitingSince }
}
