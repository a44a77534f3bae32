#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Shared

/// Verifies each transaction's Ed25519 signature (swift-crypto) and
/// forwards only the valid ones. Several verify tiles share one input: tile
/// i takes the fragments whose sequence number is i modulo their count, and
/// filters the rest without reading them.
package struct VerifyTile: Tile {
    // MARK: limits

    package static let kind = "verify"
    package static let summary = "verifies Ed25519 signatures; forwards the valid transactions, counts the rest"
    package static let maxCount = 64
    package static let inputs = 1...1
    package static let outputs = 1...1

    // MARK: metrics

    /// What checking a transaction found.
    enum Result: Int, MetricLabel { case verified, badSignature, malformed }
    static let transactions = MetricFamily.enumCounter(
        "transactions", "Transactions this tile checked, by outcome; only verified ones are forwarded.",
        label: "result", Result.self)
    static let duration = MetricFamily.histogram(
        "verify_duration_seconds", "Time to verify one signature.",
        buckets: [5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 75_000, 100_000, 250_000, 1_000_000],
        unit: "seconds", converter: .nanosToSeconds)
    package static let schema = MetricSchema(prefix: kind, [transactions, duration])

    package static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        forwardingIssue(tile, topology)
    }

    // MARK: state

    let count: UInt64
    let kindId: UInt64
    let buffer: UnsafeMutableRawPointer
    let bufferBytes: Int
    var size = 0
    var keys: [PublicKeyBytes: Curve25519.Signing.PublicKey] = [:]
    var counts = VariantCounts<Result>()
    var durations: LocalHistogram

    let countsCell: LabelledCounterCell<Result>
    let durationCell: HistogramCell

    package init(privileged ctx: TileContext) throws {
        count = UInt64(ctx.topology.tiles(ofKind: Self.kind).count)
        kindId = UInt64(ctx.tile.kindId)
        bufferBytes = ctx.inputs[0].mtu
        buffer = .allocate(byteCount: bufferBytes, alignment: 64)
        durations = LocalHistogram(Self.duration)
        countsCell = ctx.metrics.enumCounter(Self.transactions, Result.self)
        durationCell = ctx.metrics.histogram(Self.duration)
        keys.reserveCapacity(Self.keyCacheSize)
    }

    static let keyCacheSize = 256

    // MARK: loop callbacks

    /// Not this tile's share: skip without reading.
    package mutating func beforeFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) -> Bool {
        meta.seq % count != kindId
    }

    package mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {
        size = payload.count
        buffer.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
    }

    package mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {
        guard size >= Transaction.minimumBytes, size <= stem.mtu(0) else { counts[.malformed] &+= 1; return }
        let t0 = Clock.monotonicNanos()
        let ok = verify()
        durations.sample(UInt64(max(0, Clock.monotonicNanos() - t0)))
        guard ok else { counts[.badSignature] &+= 1; return }
        counts[.verified] &+= 1
        stem.buffer(0).copyMemory(from: buffer, byteCount: size)
        stem.publish(0, sig: meta.sig, size: size, tsorig: meta.tsorig)
    }

    mutating func verify() -> Bool {
        let keyBytes = PublicKeyBytes(buffer + Transaction.signatureBytes)
        let key: Curve25519.Signing.PublicKey
        if let k = keys[keyBytes] {
            key = k
        } else {
            guard
                let k = try? Curve25519.Signing.PublicKey(
                    rawRepresentation: UnsafeRawBufferPointer(start: buffer + Transaction.signatureBytes, count: Transaction.publicKeyBytes)
                )
            else { return false }
            if keys.count >= Self.keyCacheSize { keys.removeAll(keepingCapacity: true) }
            keys[keyBytes] = k
            key = k
        }
        let signature = UnsafeRawBufferPointer(start: buffer, count: Transaction.signatureBytes)
        let message = UnsafeRawBufferPointer(start: buffer + Transaction.messageOffset, count: size - Transaction.messageOffset)
        return key.isValidSignature(signature, for: message)
    }

    package mutating func writeMetrics() {
        countsCell.publish(counts)
        durationCell.publish(durations)
    }

    // MARK: seccomp

    package static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}

/// A package key's 32 bytes, as a dictionary key.
struct PublicKeyBytes: Hashable {
    let a, b, c, d: UInt64
    init(_ p: UnsafeRawPointer) {
        a = p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        b = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        d = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }
}

/// A tile that forwards what it reads: its outputs must carry its inputs'
/// largest fragments.
func forwardingIssue(_ tile: TileSpec, _ topology: Topology) -> TopologyIssue? {
    let largest = topology.inLinks(of: tile).map(\.mtu).max() ?? 0
    for link in topology.outLinks(of: tile) where link.mtu < largest {
        return TopologyIssue(
            path: ["links", link.name, "mtu"],
            "mtu = \(link.mtu) is smaller than the \(largest)-byte fragments [tiles.\(tile.kind)] forwards from its inputs; raise it to at least \(largest)"
        )
    }
    return nil
}
