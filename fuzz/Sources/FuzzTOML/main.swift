// libFuzzer harness: TOMLDocument(bytes:), tilectl's TOML 1.0 parser, on
// arbitrary bytes, without the topology rules on top (FuzzTopology has
// those), so every input's time goes to the grammar.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - no crash, no trap, no memory error, no stack overflow on nesting;
//  - an error has a position inside the text (line from 1 to the lines
//    + 1, column from 1) and a non-empty message of one line;
//  - a document's every key and value offset lies inside the text, and
//    every table's keys are unique;
//  - parsing is deterministic: the same bytes give the same result.
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
@testable import TOML

func check(_ t: TOMLTable, _ count: Int, _ input: () -> String, depth: Int) {
    require(depth <= TOMLDocument.maxNesting + 1, "a document nested \(depth) deep: \(input())")
    require(Set(t.keys).count == t.count, "duplicate keys \(t.keys): \(input())")
    for e in t.entries {
        require(e.keyOffset >= 0 && e.keyOffset < count, "key offset \(e.keyOffset) of \(count): \(input())")
        require(e.valueOffset >= 0 && e.valueOffset < count, "value offset \(e.valueOffset) of \(count): \(input())")
        check(e.value, count, input, depth: depth + 1)
    }
}

func check(_ v: TOMLValue, _ count: Int, _ input: () -> String, depth: Int) {
    switch v {
    case .table(let t): check(t, count, input, depth: depth)
    case .array(let a):
        for k in 0..<a.count {
            require(a.offsets[k] >= 0 && a.offsets[k] < count, "element offset \(a.offsets[k]) of \(count): \(input())")
            check(a[k], count, input, depth: depth + 1)
        }
    default: break
    }
}

/// A result in a form two parses can be compared by.
func summary(_ bytes: [UInt8]) -> String {
    do {
        let doc = try TOMLDocument(bytes: bytes)
        return "ok \(doc.root.keys)"
    } catch {
        return "error \(error)"
    }
}

func fuzzOne(_ data: UnsafeRawBufferPointer) {
    guard data.count <= 1 << 20 else { return }
    let bytes = [UInt8](data)
    let input = { "input \"\(escaped(data))\"" }
    let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    do {
        let doc = try TOMLDocument(bytes: bytes)
        check(doc.root, bytes.count, input, depth: 0)
    } catch {
        require(
            error.position.line >= 1 && error.position.line <= lines + 1 && error.position.column >= 1,
            "error at \(error.position) in \(lines) lines: \(error.message); \(input())")
        require(!error.message.isEmpty, "an empty error message; \(input())")
        require(
            !error.message.unicodeScalars.contains { $0 == "\n" || $0 == "\r" },
            "error message is not one line: \"\(escaped(error.message))\"; \(input())")
    }
    require(summary(bytes) == summary(bytes), "two parses differ; \(input())")
}

fuzzMain(fuzzOne)
