// What both harnesses share: the failure that libFuzzer reports, an
// exactly-sized copy of an input (so AddressSanitizer sees any read past
// either end), and the reproducer entry point of plain (non-fuzzing) builds.
#if canImport(Glibc)
import Glibc
#endif
#if FUZZING
import CLibFuzzer
#endif

/// A violated property: says which on stderr, then aborts, which libFuzzer
/// reports as a crash and saves the input for.
public func fuzzFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    eprint("FUZZ PROPERTY VIOLATED (\(file):\(line)): \(message)\n")
    abort()
}

/// Aborts with `message` unless `condition` holds (kept in release builds,
/// unlike `assert`).
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fuzzFailure(message(), file: file, line: line) }
}

/// Calls `body` with a copy of `bytes` in an allocation of exactly their
/// size: AddressSanitizer's redzones then sit right before and right after,
/// so a read one byte out of bounds on either side is caught.
public func withExactCopy<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { copy.deallocate() }
    if bytes.count > 0 { copy.copyMemory(from: bytes) }
    return try body(UnsafeRawBufferPointer(copy))
}

/// Printable form of an input for failure messages: ASCII as is, the rest
/// escaped; at most `limit` bytes.
public func escaped(_ bytes: UnsafeRawBufferPointer, limit: Int = 512) -> String {
    var s = ""
    for b in bytes.prefix(limit) {
        switch b {
        case 0x0D: s += "\\r"
        case 0x0A: s += "\\n"
        case 0x09: s += "\\t"
        case 0x5C: s += "\\\\"
        case 0x20..<0x7F: s.unicodeScalars.append(Unicode.Scalar(b))
        default:
            let h = String(b, radix: 16)
            s += "\\x" + (h.count == 1 ? "0" + h : h)
        }
    }
    if bytes.count > limit { s += "… (\(bytes.count) bytes)" }
    return s
}

public func escaped(_ s: String, limit: Int = 512) -> String {
    Array(s.utf8).withUnsafeBytes { escaped($0, limit: limit) }
}

/// The signature of `LLVMFuzzerTestOneInput`.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// The harness `fuzzMain` was given (each executable has one; set once,
/// before libFuzzer starts, on its only thread).
nonisolated(unsafe) private var harness: ((UnsafeRawBufferPointer) -> Void)?

@_cdecl("LLVMFuzzerTestOneInput")
public func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    harness?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// A harness's whole main: a fuzzing build (-DFUZZING) hands the command
/// line to libFuzzer; a plain build is a reproducer that runs the harness
/// once on each file named.
public func fuzzMain(_ one: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    harness = one
    #if FUZZING
    exit(runLibFuzzer(llvmFuzzerTestOneInput))
    #else
    exit(runReproducers(one))
    #endif
}

#if FUZZING
/// The entry point of a fuzzing build: hands the command line to libFuzzer,
/// which fuzzes `target` (or, given files, runs it once on each). SwiftPM
/// names a Swift executable's entry point `<module>_main` and links `main` to
/// it, so the harness keeps its own main and calls libFuzzer's driver from
/// it rather than letting libFuzzer supply main.
public func runLibFuzzer(_ target: FuzzTarget) -> Int32 {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, target)
}
#endif

/// The entry point of a plain build: runs `harness` once on each file named
/// on the command line (each file in a directory named), like libFuzzer does
/// with file arguments. Returns the exit status.
public func runReproducers(_ harness: (UnsafeRawBufferPointer) -> Void) -> Int32 {
    let args = CommandLine.arguments
    let me = args.first.map { String($0.split(separator: "/").last ?? "") } ?? "harness"
    guard args.count > 1 else {
        eprint("usage: \(me) FILE|DIR...\n  runs the harness once on each file (each file of each directory); a violated property aborts\n")
        return 2
    }
    var ran = 0
    for path in args.dropFirst() {
        var files: [String] = []
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." && !name.hasPrefix(".") { files.append(path + "/" + name) }
            }
            closedir(dir)
            files.sort()
        } else {
            files = [path]
        }
        for file in files {
            guard let bytes = readFile(file) else {
                eprint("\(me): cannot read \(file): \(String(cString: strerror(errno)))\n")
                return 1
            }
            eprint("Running: \(file) (\(bytes.count) bytes)\n")
            bytes.withUnsafeBytes { harness($0) }
            ran += 1
        }
    }
    eprint("\(me): \(ran) input(s), no property violated\n")
    return 0
}

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        out += chunk[0..<n]
        if n < chunk.count { return ferror(f) != 0 ? nil : out }
    }
}

/// Writes `s` to standard error, unbuffered.
public func eprint(_ s: String) {
    var s = s
    s.withUTF8 { b in
        var off = 0
        while off < b.count {
            let n = write(2, b.baseAddress! + off, b.count - off)
            if n <= 0 { return }
            off += n
        }
    }
}
