import CZlib
import Shared

/// gzip (RFC 1952) with zlib. The deflate state is allocated once, before
/// the sandbox; each response only resets it, so compressing allocates
/// nothing and makes no syscall.
package final class Gzip {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Level 1: Prometheus text compresses about tenfold even at the
    /// fastest level, and a scrape should cost the tile as little as it can.
    package init(level: Int32 = 1) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard czlib_deflate_init_gzip(stream, level) == Z_OK else {
            stream.deallocate()
            throw RuntimeError("zlib deflateInit2 failed")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` into `output`; nil when `output` is too small.
    package func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard deflateReset(stream) == Z_OK, let inBase = input.baseAddress, let outBase = output.baseAddress else { return nil }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = outBase.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        guard deflate(stream, Z_FINISH) == Z_STREAM_END else { return nil }
        return output.count - Int(stream.pointee.avail_out)
    }
}
