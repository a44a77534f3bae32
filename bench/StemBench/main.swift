#if canImport(Glibc)
import Glibc
#endif
import Shared
import Supervisor

// tilectl with two benchmark tile kinds that do the least a tile can: one
// publishes fragments as fast as its credits allow, the other reads them and
// copies each payload out. Booted with `idle = "spin"`, a link between them
// runs at the rate the stem allows; bench/stem-vs-link.sh compares it with
// the bare link (tilectl-bench-link) in the same run. Never part of tilectl.

/// Publishes one fragment of `size` bytes per loop iteration with credits.
struct SpinSourceTile: Tile {
    static let kind = "spin_source"
    static let summary = "benchmark: publishes fragments as fast as credits allow"
    static let outputs = 1...1
    static let size = OptionKey<Int>("size", 0...65536, default: 64, help: "Payload bytes per fragment.")
    static let options = [size.declaration]
    static let schema = MetricSchema(prefix: kind, [])

    let bytes: Int
    var sent: UInt64 = 0

    init(privileged ctx: TileContext) throws {
        bytes = ctx.tile[Self.size]
    }

    mutating func afterCredit(_ stem: inout StemContext) -> Bool {
        memset(stem.buffer(0), Int32(truncatingIfNeeded: sent), bytes)
        stem.publish(0, sig: sent, size: bytes, tsorig: 0)
        sent &+= 1
        return true
    }

    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }
}

/// Copies each fragment's payload out, as a tile that uses it would.
struct SpinSinkTile: Tile {
    static let kind = "spin_sink"
    static let summary = "benchmark: reads fragments and copies each payload out"
    static let inputs = 1...1
    static let schema = MetricSchema(prefix: kind, [])

    let copy = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 64)

    init(privileged ctx: TileContext) throws {}

    mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {
        copy.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
    }

    static var seccompPolicy: SeccompPolicy { RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common }
}

Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(SpinSourceTile.self), TileKind(SpinSinkTile.self)]))
