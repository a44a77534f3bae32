#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// Every tile's stderr is a pipe the supervisor reads: it checks each line
/// is the tile's own (`time LEVEL <tile>: message`), takes control bytes
/// out, and writes it to the terminal and the log file by its level, as its
/// own lines are. A tile never holds the terminal (no escape sequence
/// reaches it) or the log file (no line can claim to be another's, no disk
/// can be filled), and a tile that writes too much is slowed, not obeyed:
/// past its budget its pipe is not read until the next second, so it blocks
/// in write(2) and its heartbeat says so.
final class LogRelay {
    struct Source {
        let name: String
        let fd: Int32
        var buffer: [UInt8] = []
        /// Bytes of a line too long to keep, being skipped to its end.
        var skipping = false
        var budget = LogRelay.bytesPerSecond
        var open = true
    }

    /// What one tile may write in a second; a boot writes a few hundred bytes.
    static let bytesPerSecond = 64 << 10
    /// The longest line relayed whole; the rest is cut.
    static let maxLine = 4096

    private var sources: [Source]
    private var second: Int64 = 0
    private let chunk = UnsafeMutableRawPointer.allocate(byteCount: 16384, alignment: 16)

    /// Read ends, one per tile (non-blocking), parallel to `names`.
    init(names: [String], pipes: [FileDescriptor]) {
        sources = zip(names, pipes).map { Source(name: $0, fd: $1.rawValue) }
        for p in pipes {
            let fl = cshim_fcntl_int(p.rawValue, F_GETFL, 0)
            _ = cshim_fcntl_int(p.rawValue, F_SETFL, fl | O_NONBLOCK)
        }
    }

    deinit {
        for s in sources where s.open { Glibc.close(s.fd) }
        chunk.deallocate()
    }

    /// The pipes to poll now (those within their budget), as (slot, fd).
    func pollable(now: Int64) -> [(Int, Int32)] {
        if now / 1_000_000_000 != second {
            second = now / 1_000_000_000
            for i in sources.indices { sources[i].budget = Self.bytesPerSecond }
        }
        return sources.indices.filter { sources[$0].open && sources[$0].budget > 0 }.map { ($0, sources[$0].fd) }
    }

    /// Reads what tile `slot` wrote, within its budget; relays whole lines.
    func read(_ slot: Int) {
        while sources[slot].open && sources[slot].budget > 0 {
            let n = Glibc.read(sources[slot].fd, chunk, min(16384, sources[slot].budget))
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            if n <= 0 {
                flushPartial(slot)
                Glibc.close(sources[slot].fd)
                sources[slot].open = false
                return
            }
            sources[slot].budget -= n
            let bytes = UnsafeRawBufferPointer(start: chunk, count: n)
            var start = 0
            for (i, b) in bytes.enumerated() where b == 0x0A {
                take(slot, bytes[start..<i], endOfLine: true)
                start = i + 1
            }
            if start < n { take(slot, bytes[start..<n], endOfLine: false) }
        }
    }

    /// Everything the tiles wrote so far, regardless of budget: before the
    /// supervisor says a tile died, its last words come first.
    func drain() {
        for i in sources.indices where sources[i].open {
            sources[i].budget = max(sources[i].budget, Self.bytesPerSecond)
            read(i)
        }
    }

    private func take(_ slot: Int, _ bytes: Slice<UnsafeRawBufferPointer>, endOfLine: Bool) {
        if !sources[slot].skipping {
            let room = Self.maxLine - sources[slot].buffer.count
            sources[slot].buffer.append(contentsOf: bytes.prefix(room))
            if bytes.count > room {
                emit(slot, sources[slot].buffer, cut: true)
                sources[slot].buffer.removeAll(keepingCapacity: true)
                sources[slot].skipping = true
            }
        }
        if endOfLine {
            if !sources[slot].skipping { emit(slot, sources[slot].buffer, cut: false) }
            sources[slot].buffer.removeAll(keepingCapacity: true)
            sources[slot].skipping = false
        }
    }

    private func flushPartial(_ slot: Int) {
        if !sources[slot].buffer.isEmpty && !sources[slot].skipping { emit(slot, sources[slot].buffer, cut: false) }
        sources[slot].buffer.removeAll()
    }

    /// One line of tile `slot`: relayed as its own when it is shaped as the
    /// tile's log lines are, else attributed by the supervisor.
    private func emit(_ slot: Int, _ line: [UInt8], cut: Bool) {
        let text = Self.printable(line) + (cut ? " [cut at \(Self.maxLine) bytes]" : "")
        if let level = Self.level(of: text, who: sources[slot].name) {
            Log.relay(level, text)
        } else if !text.isEmpty {
            Log.warning("tile \(sources[slot].name) wrote: \(text)")
        }
    }

    /// The line with every control character (C0, DEL, C1) and every
    /// invalid UTF-8 sequence replaced, so nothing but text reaches a
    /// terminal.
    static func printable(_ bytes: [UInt8]) -> String {
        var out = String.UnicodeScalarView()
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let v = scalar.value
            if (v < 0x20 && v != 0x09) || (0x7F...0x9F).contains(v) || v == 0xFFFD {
                out.append("?")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The level of a line shaped `YYYY-MM-DD HH:MM:SS.ffffff LEVEL   who: …`
    /// whose `who` is the tile's name, or nil.
    static func level(of line: String, who: String) -> LogLevel? {
        let u = Array(line.utf8)
        // 26 bytes of time, a blank, 7 of level, a blank.
        guard u.count >= 35 + who.utf8.count + 2, u[4] == 0x2D, u[7] == 0x2D, u[10] == 0x20, u[13] == 0x3A,
            u[16] == 0x3A, u[19] == 0x2E, u[26] == 0x20, u[34] == 0x20
        else { return nil }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25]
        guard digits.allSatisfy({ u[$0] >= 0x30 && u[$0] <= 0x39 }) else { return nil }
        let label = String(decoding: u[27..<34], as: UTF8.self)
        guard let level = LogLevel.allCases.first(where: { $0.label == label }) else { return nil }
        guard Array(u[35..<(35 + who.utf8.count)]) == Array(who.utf8), u[35 + who.utf8.count] == 0x3A,
            u[36 + who.utf8.count] == 0x20
        else { return nil }
        return level
    }
}
