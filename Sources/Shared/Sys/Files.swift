#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Small text files of the kernel's (/proc, /sys) and of our own.
package enum Files {
    package static func read(_ path: String, limit: Int = 1 << 20) throws -> String {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { fd.close() }
        return String(decoding: try fd.readToEnd(limit: limit, what: path), as: UTF8.self)
    }

    package static func readInt(_ path: String) throws -> Int {
        let text = try read(path).trimmingWhitespace
        guard let v = Int(text) else { throw RuntimeError(call: "parse \(path): \"\(text)\" is not a number", errno: EINVAL) }
        return v
    }

    /// Writes `text` to an existing file (a sysctl, a sysfs knob).
    package static func write(_ path: String, _ text: String) throws {
        let fd = try FileDescriptor.open(path, O_WRONLY)
        defer { fd.close() }
        try fd.writeAll(text)
    }

    /// Writes a whole file atomically: a temporary file renamed over it.
    package static func replace(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        let tmp = "\(path).tmp.\(getpid())"
        let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try fd.writeAll(text)
            fd.close()
            try Sys.check("rename(\(tmp), \(path))", rename(tmp, path))
        } catch {
            fd.close()
            unlink(tmp)
            throw error
        }
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The names in a kernel directory (/sys, /proc); none when it is absent.
    package static func list(_ path: String) -> [String] {
        let fd = open(path, O_RDONLY | CSHIM_O_DIRECTORY | CSHIM_O_CLOEXEC)
        guard fd >= 0 else { return [] }
        return TrustedDirectory.entries(fd, consuming: true)
    }

    /// mkdir -p with `mode` for the directories it creates.
    package static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var sofar = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            sofar += "/" + part
            if mkdir(sofar, mode) != 0 && errno != EEXIST {
                throw RuntimeError(call: "mkdir(\(sofar))", errno: errno)
            }
        }
    }
}

extension String {
    package var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
