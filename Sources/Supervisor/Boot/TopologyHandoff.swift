#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import Shared

/// The resolved topology and layout, as every tile receives them: JSON in a
/// sealed memfd. Sealing (no write, grow, shrink, or further seals) means a
/// tile reads exactly what the supervisor computed, and nobody, the tile
/// included, can change it afterwards.
struct TopologyHandoff: Codable {
    var topology: Topology
    var layout: TopologyLayout
    /// Who each tile becomes (parallel to `topology.tiles`); nil when the
    /// supervisor runs without root and tiles stay the invoking user.
    var users: [TileUser]?
    /// The run's own directory in /dev/shm (workspaces on normal pages).
    var normalDirectory: String?

    /// Seals a tile insists on before it trusts the memfd.
    static var requiredSeals: Int32 { CSHIM_F_SEAL_SEAL | CSHIM_F_SEAL_SHRINK | CSHIM_F_SEAL_GROW | CSHIM_F_SEAL_WRITE }

    /// Writes the handoff into a new memfd and seals it. The caller owns
    /// the descriptor (close-on-exec; a tile gets it through dup2).
    func seal() throws -> FileDescriptor {
        let data = try JSONEncoder().encode(self)
        let fd = FileDescriptor(
            rawValue: try Sys.check(
                "memfd_create(tilectl-topology)", cshim_memfd_create("tilectl-topology", CSHIM_MFD_CLOEXEC | CSHIM_MFD_ALLOW_SEALING)))
        do {
            try data.withUnsafeBytes { try fd.writeAll($0, what: "write(memfd)") }
            try Sys.check("fcntl(memfd, F_ADD_SEALS)", cshim_fcntl_int(fd.rawValue, CSHIM_F_ADD_SEALS, Self.requiredSeals))
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// Reads a sealed handoff from `fd` (from offset 0, whatever the file
    /// position) and closes it.
    static func open(_ fd: FileDescriptor) throws -> TopologyHandoff {
        defer { fd.close() }
        let seals = try Sys.check("fcntl(\(fd), F_GET_SEALS)", cshim_fcntl_int(fd.rawValue, CSHIM_F_GET_SEALS, 0))
        guard seals & requiredSeals == requiredSeals else {
            throw RuntimeError("the topology descriptor \(fd.rawValue) is not a sealed memfd")
        }
        var st = stat()
        try Sys.check("fstat(\(fd))", fstat(fd.rawValue, &st))
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { b in
                try Sys.retry("pread(topology memfd)", pread(fd.rawValue, b.baseAddress! + got, b.count - got, off_t(got)))
            }
            if n == 0 { break }
            got += n
        }
        return try JSONDecoder().decode(TopologyHandoff.self, from: Data(bytes[0..<got]))
    }
}
