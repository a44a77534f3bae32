import MetricTile
import Shared

/// The page's files as the tile serves them: embedded in the binary at
/// build time (`Plugins/EmbedAssets` turns `Sources/GuiTile/Assets/*` into
/// `EmbeddedAssets`), compressed once at init with the project's gzip
/// encoder (`Gzip`, zlib's deflate at its best level), each with a strong
/// ETag per representation. Nothing is read from disk: the page works on a
/// host without internet or a file system the tile could see.
final class GuiAssets {
    struct Asset {
        /// The file's name under Assets/.
        let name: String
        /// Where it is served: `/` for index.html, else `/<name>`.
        let path: [UInt8]
        let contentType: String
        let identity: UnsafeRawBufferPointer
        /// Nil when compressing does not make it smaller.
        let gzip: UnsafeRawBufferPointer?
        /// `"<FNV-1a 64 of the bytes, hex>"`, `-gz` inside the quotes for the gzip one.
        let etag: UnsafeRawBufferPointer
        let gzipEtag: UnsafeRawBufferPointer?
        let heads: GuiResponses.AssetHeads
        let gzipHeads: GuiResponses.AssetHeads?
    }

    let assets: [Asset]
    /// `assets.map(\.path)`, for the request classifier.
    let paths: [[UInt8]]

    /// The embedded files.
    convenience init() throws {
        try self.init(
            files: EmbeddedAssets.files.map { name, text in
                (name, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
            })
    }

    /// Files whose bytes live as long as the tile (static data, or memory
    /// the caller never frees).
    init(files: [(name: String, bytes: UnsafeRawBufferPointer)]) throws {
        let gzip = try Gzip(level: 9)
        assets = try files.map { name, bytes in
            let tag = Self.hex(Self.fnv1a(bytes))
            var compressed: UnsafeRawBufferPointer? = nil
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + bytes.count / 8 + 1024, alignment: 16)
            guard let n = gzip.compress(bytes, into: out) else {
                out.deallocate()
                throw RuntimeError("gzip of the gui's \(name) failed")
            }
            if n < bytes.count {
                compressed = UnsafeRawBufferPointer(rebasing: out[0..<n])
            } else {
                out.deallocate()
            }
            let type = Self.contentType(name)
            let etag = "\"\(tag)\"", gzipEtag = "\"\(tag)-gz\""
            return Asset(
                name: name, path: Array((name == "index.html" ? "/" : "/" + name).utf8), contentType: type, identity: bytes,
                gzip: compressed, etag: GuiResponses.bytes(etag), gzipEtag: compressed.map { _ in GuiResponses.bytes(gzipEtag) },
                heads: GuiResponses.assetHeads(contentType: type, etag: etag, gzip: false),
                gzipHeads: compressed.map { _ in GuiResponses.assetHeads(contentType: type, etag: gzipEtag, gzip: true) })
        }
        paths = assets.map(\.path)
    }

    /// By the file's extension; what is not text is served as bytes.
    static func contentType(_ name: String) -> String {
        let ext = name.split(separator: ".").last.map(String.init) ?? ""
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// FNV-1a, 64 bits: an ETag needs to change with the bytes, not to
    /// resist anyone (the bytes are the binary's own).
    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
