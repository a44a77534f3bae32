import Foundation

/// embed-assets OUTPUT FILE...: writes OUTPUT, a Swift file declaring
///
///     enum EmbeddedAssets {
///         static let files: [(name: String, text: StaticString)]
///     }
///
/// with each FILE (by its base name, in the order given) as a multi-line
/// raw string literal. A raw literal keeps every byte but two: a carriage
/// return (a multi-line literal normalises line ends) and invalid UTF-8,
/// which are refused, with the file named. Its delimiter has one `#` more
/// than the longest run of `#` in the file, so nothing in it can end the
/// literal or start an escape. The text ends in a newline before the
/// closing delimiter, which the literal drops: the bytes come out exact.
let args = CommandLine.arguments.dropFirst()
guard let output = args.first else {
    FileHandle.standardError.write(Data("usage: embed-assets OUTPUT FILE...\n".utf8))
    exit(2)
}
var out = """
    // Generated at build time by Plugins/EmbedAssets from the target's Assets/: do not edit.

    /// The page's files, as they are on disk.
    enum EmbeddedAssets {
        static let files: [(name: String, text: StaticString)] = [

    """
for path in args.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let name = url.lastPathComponent
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        FileHandle.standardError.write(Data("embed-assets: error: cannot read \(path): \(error)\n".utf8))
        exit(1)
    }
    guard let text = String(data: data, encoding: .utf8), !data.contains(0x0D) else {
        FileHandle.standardError.write(
            Data("embed-assets: error: \(path) is not UTF-8 text with LF line ends; convert it (no CR, no binary)\n".utf8))
        exit(1)
    }
    var longest = 0
    var run = 0
    for b in data {
        run = b == UInt8(ascii: "#") ? run + 1 : 0
        longest = max(longest, run)
    }
    let hashes = String(repeating: "#", count: longest + 1)
    out += "        (\(String(reflecting: name)), \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),\n"
}
out += "    ]\n}\n"
// Rewritten only when it changes: an unchanged asset recompiles nothing.
if (try? String(contentsOfFile: output, encoding: .utf8)) != out {
    do { try out.write(toFile: output, atomically: true, encoding: .utf8) } catch {
        FileHandle.standardError.write(Data("embed-assets: error: cannot write \(output): \(error)\n".utf8))
        exit(1)
    }
}
