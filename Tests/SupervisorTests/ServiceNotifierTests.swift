#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Shared
@testable import Supervisor

/// A datagram socket playing systemd's side of sd_notify(3): bound to a
/// path, or to a name in the abstract namespace (`@name`).
final class NotifyListener {
    let address: String
    let fd: Int32

    init(abstract: Bool) throws {
        let name = "tilectl-notify-test-\(UUID().uuidString.prefix(8))"
        address = abstract ? "@" + name : NSTemporaryDirectory() + name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        var path = Array(address.utf8)
        if abstract { path[0] = 0 }
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard rc == 0 else { throw TestFailure("bind \(address): errno \(errno)") }
    }

    deinit {
        close(fd)
        if !address.hasPrefix("@") { unlink(address) }
    }

    /// The next datagram within `timeout` seconds, or nil.
    func next(timeout: Double = 2) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        return n < 0 ? nil : String(decoding: buf[0..<n], as: UTF8.self)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite struct ServiceNotifierTests {
    @Test(arguments: [false, true])
    func speaksSdNotifyToAPathOrAnAbstractSocket(abstract: Bool) throws {
        let systemd = try NotifyListener(abstract: abstract)
        let notifier = ServiceNotifier(
            readyFD: nil, environment: ["NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.notifiesSystemd)
        #expect(notifier.watchdogInterval == 2_000_000_000)

        notifier.ready(status: "8 tiles running, booted in 12 ms")
        #expect(systemd.next() == "READY=1\nSTATUS=8 tiles running, booted in 12 ms")
        notifier.status("8 tiles running, booted in 12 ms")  // unchanged: not sent
        notifier.status("stale: verify:1 (last heartbeat 2.1 s ago)")
        #expect(systemd.next() == "STATUS=stale: verify:1 (last heartbeat 2.1 s ago)")

        let now = Clock.monotonicNanos()
        #expect(notifier.watchdogDue(now: now))
        notifier.watchdog(now: now, healthy: false)  // a stale tile: no keep-alive
        #expect(!notifier.watchdogDue(now: now + 1_999_999_999))
        #expect(notifier.watchdogDue(now: now + 2_000_000_000))
        notifier.watchdog(now: now + 2_000_000_000, healthy: true)
        #expect(systemd.next() == "WATCHDOG=1")

        notifier.stopping(status: "stopping on SIGTERM")
        #expect(systemd.next() == "STOPPING=1\nSTATUS=stopping on SIGTERM")
        #expect(systemd.next(timeout: 0.1) == nil)
    }

    @Test func theWatchdogIsAnotherProcesssWhenWatchdogPidNamesIt() throws {
        let systemd = try NotifyListener(abstract: true)
        let notifier = ServiceNotifier(
            readyFD: nil,
            environment: ["NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": String(getpid() + 1)])
        #expect(notifier.notifiesSystemd)
        #expect(notifier.watchdogInterval == nil)
    }

    @Test func withoutNotifySocketNothingIsSentAndAnUnreachableOneIsOnlyAWarning() throws {
        #expect(!ServiceNotifier(readyFD: nil, environment: [:]).notifiesSystemd)
        #expect(!ServiceNotifier(readyFD: nil, environment: ["NOTIFY_SOCKET": "/nonexistent/notify"]).notifiesSystemd)
        #expect(!ServiceNotifier(readyFD: nil, environment: ["NOTIFY_SOCKET": "vsock:2:1234"]).notifiesSystemd)
        #expect(throws: RuntimeError.self) { try ServiceNotifier.connect("relative/path") }
        #expect(throws: RuntimeError.self) { try ServiceNotifier.connect("/" + String(repeating: "x", count: 200)) }
    }

    @Test func theReadyDescriptorGetsOneLineThenEOF() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let notifier = ServiceNotifier(readyFD: FileDescriptor(rawValue: fds[1]), environment: [:])
        notifier.ready(status: "up")
        notifier.ready(status: "up")  // once only: the descriptor is closed
        var buf = [UInt8](repeating: 0, count: 64)
        #expect(read(fds[0], &buf, 64) == 8)
        #expect(String(decoding: buf[0..<8], as: UTF8.self) == "READY=1\n")
        #expect(read(fds[0], &buf, 64) == 0, "EOF: the supervisor closed its end")
    }
}
