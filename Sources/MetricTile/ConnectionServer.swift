#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// A single-threaded, poll-driven HTTP/1.1 server over a fixed
/// `ConnectionTable`: the metric tile's (`MetricsServer`) and the gui
/// tile's (`GuiServer`). The life of a connection is written here, once:
///
///     accept ─▶ reading ─▶ (the server answers) ─▶ writing ─▶ reading …
///                                                      │ (the response ends it)
///                                                      ├─▶ draining ─▶ closed
///                                                      └─▶ streaming ─▶ closed
///
/// with the eviction of a connection when a new one finds the table full,
/// the timeouts, and the graceful close (RFC 9112 §9.6): once the last
/// response is sent, the write side is shut (the client reads the end of
/// the response, then EOF) and what the client still sends is read and
/// discarded, up to `ConnectionIO.drainBytes` or `.drainNanos`, so the
/// kernel does not answer it with a reset that could destroy the response
/// before the client reads it.
///
/// The server supplies what differs: how the request at the front of a
/// slot's buffer is answered (`handleBuffered`), how its response is sent
/// (`write`, which calls `responseSent` when it is), and what a closing
/// connection lets go of (`releasing`). Nothing here allocates.
package protocol ConnectionServer: AnyObject {
    associatedtype Response: ConnectionResponse

    /// The listening socket, non-blocking.
    var listenFD: Int32 { get }
    var table: ConnectionTable<Response> { get }

    /// Answers the request at the front of the slot's buffer, if it is
    /// complete: queues a response (the slot then `.writing` or
    /// `.streaming`) and starts sending it, or waits for more bytes.
    func handleBuffered(_ slot: Int, _ now: Int64)
    /// Sends what the slot's response still has to send; once it is all
    /// sent, clears the response and calls `responseSent`.
    func write(_ slot: Int, _ now: Int64)
    /// The slot's connection is closing (its descriptor is closed, the
    /// slot not reset yet): lets go of what its response holds.
    func releasing(_ slot: Int)
}

extension ConnectionServer {
    /// Open connections.
    package var active: Int { table.active }

    // MARK: the poll loop

    /// One ppoll over the listener and every live connection, waiting at
    /// most `timeoutNanos` (0: do not wait). Returns whether anything happened.
    @discardableResult
    package func poll(timeoutNanos: Int64) -> Bool {
        let t = table
        t.pollFDs[0] = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
        var n = 1
        for i in 0..<t.slots.count where t.slots[i].state != .free {
            let events: Int32 =
                switch t.slots[i].state {
                case .writing: POLLOUT
                // A stream is read too: its end (EOF) must be seen.
                case .streaming: t.slots[i].response.unsent ? POLLIN | POLLOUT : POLLIN
                default: POLLIN  // reading, draining
                }
            t.pollFDs[n] = pollfd(fd: t.slots[i].fd, events: Int16(events), revents: 0)
            t.pollSlots[n] = i
            n += 1
        }
        let ready = cshim_ppoll(t.pollFDs, nfds_t(n), timeoutNanos)
        guard ready > 0 else { return false }
        let now = Clock.monotonicNanos()
        for k in 1..<n {
            let re = Int32(t.pollFDs[k].revents)
            guard re != 0 else { continue }
            let slot = t.pollSlots[k]
            // The slot may have been reused by an eviction in this pass.
            guard t.slots[slot].fd == t.pollFDs[k].fd, t.slots[slot].state != .free else { continue }
            if re & (POLLERR | POLLNVAL) != 0 {
                close(slot)
                continue
            }
            switch t.slots[slot].state {
            case .writing: write(slot, now)
            case .draining: drain(slot)
            case .streaming:
                if re & (POLLIN | POLLHUP) != 0 { drain(slot) }
                if t.slots[slot].state == .streaming && re & POLLOUT != 0 { write(slot, now) }
            default: read(slot, now)
            }
        }
        if t.pollFDs[0].revents & Int16(POLLIN) != 0 { acceptAll(now) }
        return true
    }

    /// Closes connections that did not complete a request, or take any of
    /// their response, within the request timeout (idle keep-alive
    /// connections, slow trickles of bytes, readers that stopped reading),
    /// and drains that ran out of time. Streams are the server's to judge.
    package func expire(now: Int64) {
        let t = table
        for i in 0..<t.slots.count {
            let since: Int64
            switch t.slots[i].state {
            case .free, .streaming: continue
            case .draining:
                // Not a timeout: the response was sent.
                if now - t.slots[i].lastProgress > ConnectionIO.drainNanos { close(i) }
                continue
            case .reading: since = t.slots[i].waitingSince
            case .writing: since = t.slots[i].lastProgress
            }
            if now - since > t.requestTimeoutNanos {
                t.counts.timedOut &+= 1
                close(i)
            }
        }
    }

    // MARK: connections

    private func acceptAll(_ now: Int64) {
        for _ in 0..<ConnectionIO.acceptsPerPass {
            let fd = cshim_accept4(listenFD, CSHIM_SOCK_CLOEXEC | CSHIM_SOCK_NONBLOCK)
            if fd < 0 { return }  // EAGAIN, or a client gone before accept
            let slot: Int
            if let free = table.freeSlot() { slot = free } else { slot = evict() }
            table.slots[slot] = ConnectionSlot(accepted: fd, at: now)
            table.active += 1
            // A client usually sends its request with the connection: answer
            // it now, before a flood of newer connections can evict this one.
            read(slot, now)
        }
    }

    /// Frees a slot for a new client when every one is taken: a connection
    /// being drained first (its answer is sent: no loss, not counted); then
    /// a slow reader (a response it has not taken), round robin among
    /// them; else the connection that has waited longest without
    /// completing a request (an idle keep-alive, a slow trickle), so the
    /// newest clients are the last to go; a stream only when every slot
    /// is one, the oldest.
    private func evict() -> Int {
        let t = table
        let n = t.slots.count
        for i in 0..<n where t.slots[i].state == .draining {
            close(i)
            return i
        }
        var victim = -1
        for k in 0..<n where t.slots[(t.evictCursor + k) % n].state == .writing {
            victim = (t.evictCursor + k) % n
            break
        }
        if victim < 0 {
            victim = t.evictCursor
            for i in 0..<n where t.evictionRank(i) < t.evictionRank(victim) { victim = i }
            if t.slots[victim].state == .streaming { victim = t.oldest(.streaming) }
        }
        t.evictCursor = (victim + 1) % n
        t.counts.evicted &+= 1
        close(victim)
        return victim
    }

    /// Closes the slot's connection at once (nothing if the slot is free).
    package func close(_ slot: Int) {
        let t = table
        guard t.slots[slot].state != .free else { return }
        _ = Glibc.close(t.slots[slot].fd)
        releasing(slot)
        t.slots[slot] = ConnectionSlot()
        t.active -= 1
    }

    private func read(_ slot: Int, _ now: Int64) {
        let t = table
        let have = t.slots[slot].buffered
        let n = Glibc.read(t.slots[slot].fd, t.requestBuffer(slot) + have, t.maxRequestBytes - have)
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return close(slot)
        }
        if n == 0 { return close(slot) }  // the client is done
        t.counts.bytesRead &+= UInt64(n)
        t.slots[slot].buffered += n
        handleBuffered(slot, now)
    }

    /// The slot's response is all sent, and the server has let go of it:
    /// a stream waits for its next message; a connection the response
    /// ends is closed gracefully; any other waits for its next request,
    /// which may be buffered already (pipelined).
    package func responseSent(_ slot: Int, _ now: Int64) {
        let t = table
        if t.slots[slot].state == .streaming { return }
        if t.slots[slot].closeAfterResponse { return closeGracefully(slot, now) }
        t.slots[slot].state = .reading
        t.slots[slot].waitingSince = now
        if t.slots[slot].buffered > 0 { handleBuffered(slot, now) }
    }

    /// Ends a connection whose response is sent: shuts the write side (the
    /// client reads EOF after the response) and drains what it still sends.
    private func closeGracefully(_ slot: Int, _ now: Int64) {
        let t = table
        guard ConnectionIO.shutWrite(t.slots[slot].fd) else { return close(slot) }
        t.slots[slot].state = .draining
        t.slots[slot].buffered = 0
        t.slots[slot].drained = 0
        t.slots[slot].lastProgress = now
        drain(slot)
    }

    /// Reads and discards; closes at EOF, on error, or past `drainBytes`
    /// (a stream's client has nothing to say after its request either).
    private func drain(_ slot: Int) {
        let t = table
        let done = ConnectionIO.discard(
            t.slots[slot].fd, t.requestBuffer(slot), capacity: t.maxRequestBytes, drained: &t.slots[slot].drained,
            limit: ConnectionIO.drainBytes, read: &t.counts.bytesRead)
        if done { close(slot) }
    }
}
