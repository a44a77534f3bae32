// libFuzzer harness: TopologyLoader(kinds: Registry.production)
// .load(bytes:path:) over arbitrary bytes, as `tilectl run|check --config F`
// calls it on a file's contents. The loader parses TOML with its own parser
// (module TOML; FuzzTOML fuzzes it alone) and validates every key.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - no crash, no trap, no memory error (AddressSanitizer, in the C++ too
//    when run.sh could instrument it);
//  - it returns a Topology or throws a ConfigError, never another error;
//  - a ConfigError names the file it was given, has line >= 0 and
//    column >= 0 (line 0 only together with column 0), a non-empty message,
//    and a description of one line (no "\n", no "\r");
//  - a returned Topology has a metric tile, at most TopologyLoader.maxTiles
//    tiles, and links whose producer and consumers are tiles of it.
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
@testable import Shared
@testable import Supervisor

let path = "fuzz.toml"

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    // `load(path:)` refuses larger files before parsing.
    guard data.count <= TopologyLoader.maxFileSize else { return }
    let bytes = [UInt8](data)
    let input = { "input \"\(escaped(data))\"" }
    do {
        let t = try TopologyLoader(kinds: Registry.production).load(bytes: bytes, path: path)
        require(t.tiles.contains { $0.kind == "metric" }, "a topology without a metric tile: \(input())")
        require(t.tiles.count <= TopologyLoader.maxTiles, "\(t.tiles.count) tiles: \(input())")
        for link in t.links {
            require(t.tiles.indices.contains(link.producer), "link \(link.name) producer \(link.producer): \(input())")
            for c in link.consumers {
                require(t.tiles.indices.contains(c.tile), "link \(link.name) consumer \(c.tile): \(input())")
            }
        }
    } catch let e as ConfigError {
        let d = e.description
        require(e.file == path, "ConfigError names file \"\(e.file)\", not \"\(path)\": \(d); \(input())")
        require(e.line >= 0 && e.column >= 0, "ConfigError at line \(e.line) column \(e.column): \(d); \(input())")
        require(e.line > 0 || e.column == 0, "ConfigError at line 0 but column \(e.column): \(d); \(input())")
        require(!e.message.isEmpty, "ConfigError with an empty message; \(input())")
        require(
            !d.unicodeScalars.contains { $0 == "\n" || $0 == "\r" },
            "ConfigError description is not one line: \"\(escaped(d))\"; \(input())")
    } catch {
        fuzzFailure("load threw \(type(of: error)), not ConfigError: \(error); \(input())")
    }
}

fuzzMain(fuzzOne)
