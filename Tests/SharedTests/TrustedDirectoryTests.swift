#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Shared

/// What root finds where another user could have planted something: it is
/// refused, and nothing behind it is touched.
struct TrustedDirectoryTests {
    /// A scratch directory, and a root-only file a planted link points at.
    struct Scene {
        let dir: String
        let victim: String
        init() throws {
            dir = NSTemporaryDirectory() + "tilectl-trusted-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            victim = dir + "/victim"
            try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
            chmod(victim, 0o600)
        }
        var victimMode: mode_t {
            var st = stat()
            return lstat(victim, &st) == 0 ? st.st_mode & 0o7777 : 0
        }
        func tearDown() { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// The race an attacker wins when it plants a link between "does not
    /// exist" and mkdirat: mkdirat fails, and nothing is chmodded through
    /// the link (fchmodat by name would follow it).
    @Test func aLinkPlantedBeforeMkdirIsNeverChmodded() throws {
        let s = try Scene()
        defer { s.tearDown() }
        #expect(symlink(s.victim, s.dir + "/made") == 0)
        let parent = open(s.dir, O_RDONLY | O_DIRECTORY)
        defer { close(parent) }
        try TrustedDirectory.makeDirectory(in: parent, "made", mode: 0o755, shown: s.dir + "/made")
        #expect(s.victimMode == 0o600, "the link's target was chmodded")
        let e = try #require(throws: RuntimeError.self) { try TrustedDirectory.open(s.dir + "/made", create: 0o755) }
        #expect(e.problem == "is a symbolic link")
        #expect(s.victimMode == 0o600)
    }

    @Test func aDirectoryItMakesGetsExactlyItsMode() throws {
        let s = try Scene()
        defer { s.tearDown() }
        let old = umask(0o077)
        defer { umask(old) }
        let d = try TrustedDirectory.open(s.dir + "/a/b", create: 0o750)
        d.close()
        var st = stat()
        #expect(stat(s.dir + "/a/b", &st) == 0 && st.st_mode & 0o7777 == 0o750)
    }

    @Test func aComponentOwnedBySomeoneElseIsRefused() throws {
        let s = try Scene()
        defer { s.tearDown() }
        try FileManager.default.createDirectory(atPath: s.dir + "/theirs/inner", withIntermediateDirectories: true)
        guard geteuid() == 0 else { return }
        chown(s.dir + "/theirs", 65534, 65534)
        let e = try #require(throws: RuntimeError.self) { try TrustedDirectory.open(s.dir + "/theirs/inner") }
        #expect(e.path == s.dir + "/theirs" && e.problem.hasPrefix("is owned by uid 65534"))
    }

    @Test func aSharedLastDirectoryIsRefusedUnlessAccepted() throws {
        let s = try Scene()
        defer { s.tearDown() }
        try FileManager.default.createDirectory(atPath: s.dir + "/shared", withIntermediateDirectories: true)
        chmod(s.dir + "/shared", 0o1777)
        #expect(throws: RuntimeError.self) { try TrustedDirectory.open(s.dir + "/shared") }
        try TrustedDirectory.open(s.dir + "/shared", sharedLast: true).close()
    }

    /// A FIFO, a hard link to someone's file, a link: each refused, none
    /// followed or waited on.
    @Test func plantedFilesAreRefusedByOpenChecked() throws {
        let s = try Scene()
        defer { s.tearDown() }
        let d = try TrustedDirectory.open(s.dir)
        defer { d.close() }
        #expect(mkfifo(s.dir + "/fifo", 0o600) == 0)
        #expect(link(s.victim, s.dir + "/hard") == 0)
        #expect(symlink(s.victim, s.dir + "/soft") == 0)
        for (name, problem) in [("fifo", "is not a regular file"), ("hard", "has 2 hard links"), ("soft", "is a symbolic link")] {
            let e = try #require(throws: RuntimeError.self) { try d.openChecked(name, O_WRONLY | O_APPEND | O_CREAT) }
            #expect(e.problem.hasPrefix(problem), "\(name): \(e)")
        }
        #expect(try String(contentsOfFile: s.victim, encoding: .utf8) == "precious\n")
        let fd = try d.openChecked("new", O_WRONLY | O_CREAT | O_EXCL, mode: 0o640)
        fd.close()
    }
}
