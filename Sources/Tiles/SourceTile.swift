#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Shared

/// Produces signed transaction-like payloads at a configured rate (or as
/// fast as it can) from a pool signed once at boot. A configured fraction
/// are duplicates of recent ones, a fraction carry a corrupted signature.
package struct SourceTile: Tile {
    // MARK: limits

    package static let kind = "source"
    package static let summary = "publishes signed transactions from a pre-signed pool, with duplicates and bad signatures mixed in"
    package static let maxCount = 16
    package static let outputs = 1...1
    /// stderr, the log file, the death pipe.

    package static let rate = OptionKey<Int>(
        "rate", 0...10_000_000, default: 10_000,
        help: "Transactions per second; 0 publishes as fast as the link takes them.")
    package static let limit = OptionKey<Int>(
        "limit", 0...Int(Int64.max), default: 0,
        help: "Stop publishing after this many transactions; 0 never stops.")
    package static let poolSize = OptionKey<Int>(
        "pool_size", 64...1_048_576, default: 8192,
        help: "Distinct transactions signed at boot and sent in turn.")
    package static let bodyBytes = OptionKey<Int>(
        "body_bytes", 8...65_000, default: 200,
        help: "Bytes of each transaction's message (the payload adds 96 bytes of signature and key).")
    package static let duplicateFraction = OptionKey<Double>(
        "duplicate_fraction", 0...0.9, default: 0.05,
        help: "Fraction of transactions that re-send one of the last 64 valid ones.")
    package static let badSignatureFraction = OptionKey<Double>(
        "bad_signature_fraction", 0...0.9, default: 0.02,
        help: "Fraction of transactions whose signature is corrupted.")

    package static let options = [
        rate.declaration, limit.declaration, poolSize.declaration, bodyBytes.declaration,
        duplicateFraction.declaration, badSignatureFraction.declaration,
    ]

    /// How far back a duplicate reaches: dedup's cache must remember more.
    package static let duplicateWindow = 64

    // MARK: metrics

    /// What a published transaction is.
    enum TxKind: Int, MetricLabel { case valid, duplicate, badSignature }
    static let transactions = MetricFamily.enumCounter(
        "transactions", "Transactions published, by what they are.", label: "tx_kind", TxKind.self)
    static let backlog = MetricFamily.gauge("backlog", "Transactions due by the configured rate but not published yet.")
    package static let schema = MetricSchema(prefix: kind, [transactions, backlog])

    package static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        let size = Transaction.messageOffset + tile[Self.bodyBytes]
        for link in topology.outLinks(of: tile) where link.mtu < size {
            return TopologyIssue(
                path: ["links", link.name, "mtu"],
                "mtu = \(link.mtu) is smaller than the \(size)-byte transactions [tiles.source] publishes; raise it to at least \(size)")
        }
        return nil
    }

    // MARK: scratch

    package struct Scratch { let pool: Int }

    package static func layoutScratch(_ tile: TileSpec, _ l: inout LayoutBuilder) -> Scratch {
        Scratch(pool: l.append(tile[Self.poolSize] * (Transaction.messageOffset + tile[Self.bodyBytes]), align: 64))
    }

    // MARK: privileged init

    let pool: UnsafeMutableRawPointer
    let poolSize: Int
    let txBytes: Int
    let limit: Int64
    let duplicateThreshold: UInt64
    let badThreshold: UInt64
    var pacer: RatePacer
    var rng: SplitMix64
    var next = 0
    /// Pool indices of the last valid transactions sent, for duplicates.
    var recent = [Int](repeating: 0, count: SourceTile.duplicateWindow)
    var recentCount = 0
    var published: Int64 = 0
    var counts = VariantCounts<TxKind>()
    var lastBacklog: Int64 = 0

    let countsCell: LabelledCounterCell<TxKind>
    let backlogCell: GaugeCell

    package init(privileged ctx: TileContext) throws {
        let (base, parts) = try ctx.scratch(Self.self)
        poolSize = ctx.tile[Self.poolSize]
        txBytes = Transaction.messageOffset + ctx.tile[Self.bodyBytes]
        pool = base + parts.pool
        limit = Int64(ctx.tile[Self.limit])
        duplicateThreshold = UInt64(ctx.tile[Self.duplicateFraction] * Double(UInt64.max >> 11)) << 11
        badThreshold = UInt64(ctx.tile[Self.badSignatureFraction] * Double(UInt64.max >> 11)) << 11
        pacer = RatePacer(rate: ctx.tile[Self.rate])
        rng = SplitMix64(seed: 0x50_0C3 &+ UInt64(ctx.tile.kindId))
        countsCell = ctx.metrics.enumCounter(Self.transactions, TxKind.self)
        backlogCell = ctx.metrics.gauge(Self.backlog)
        try signPool(kindId: ctx.tile.kindId)
    }

    /// Signs every pool entry once: eight signers, keys derived from the
    /// tile's kind_id, a unique serial in every message.
    mutating func signPool(kindId: Int) throws {
        var keyRng = SplitMix64(seed: 0x5161_4E00 &+ UInt64(kindId))
        var keys: [Curve25519.Signing.PrivateKey] = []
        for _ in 0..<8 {
            var seed = [UInt8]()
            for _ in 0..<4 { withUnsafeBytes(of: keyRng.next()) { seed += $0 } }
            keys.append(try Curve25519.Signing.PrivateKey(rawRepresentation: seed))
        }
        let t0 = Clock.monotonicNanos()
        for i in 0..<poolSize {
            let tx = pool + i * txBytes
            let key = keys[i % keys.count]
            let serial = (UInt64(kindId) << 48) | UInt64(i)
            tx.storeBytes(of: serial, toByteOffset: Transaction.messageOffset, as: UInt64.self)
            for j in (Transaction.minimumBytes)..<txBytes {
                tx.storeBytes(of: UInt8(truncatingIfNeeded: i &+ j), toByteOffset: j, as: UInt8.self)
            }
            let message = UnsafeRawBufferPointer(start: tx + Transaction.messageOffset, count: txBytes - Transaction.messageOffset)
            let signature = try key.signature(for: message)
            signature.withUnsafeBytes { tx.copyMemory(from: $0.baseAddress!, byteCount: Transaction.signatureBytes) }
            key.publicKey.rawRepresentation.withUnsafeBytes {
                (tx + Transaction.signatureBytes).copyMemory(from: $0.baseAddress!, byteCount: Transaction.publicKeyBytes)
            }
        }
        Log.info("signed \(poolSize) transactions in \((Clock.monotonicNanos() - t0) / 1_000_000) ms")
    }

    package mutating func unprivilegedInit(_ ctx: TileContext) throws {
        pacer.start(Clock.monotonicNanos())
    }

    // MARK: loop callbacks

    package mutating func afterCredit(_ stem: inout StemContext) -> Bool {
        guard limit == 0 || published < limit else { return false }
        lastBacklog = max(0, pacer.backlog(stem.now))
        guard lastBacklog > 0 else { return false }
        let out = stem.buffer(0)
        let roll = rng.next()
        let kind: TxKind
        if roll < duplicateThreshold && recentCount > 0 {
            // Re-send one of the last valid transactions.
            let index = recent[Int(rng.next() % UInt64(min(recentCount, recent.count)))]
            out.copyMemory(from: pool + index * txBytes, byteCount: txBytes)
            kind = .duplicate
        } else {
            out.copyMemory(from: pool + next * txBytes, byteCount: txBytes)
            if roll &- duplicateThreshold < badThreshold {
                // Corrupt one signature byte: verification must fail.
                let b = out.load(fromByteOffset: 17, as: UInt8.self)
                out.storeBytes(of: b ^ 0x5A, toByteOffset: 17, as: UInt8.self)
                kind = .badSignature
            } else {
                recent[recentCount % recent.count] = next
                recentCount += 1
                kind = .valid
            }
            next = (next + 1) % poolSize
        }
        stem.publish(0, sig: Transaction.tag(out), size: txBytes, tsorig: compressedTimestamp(stem.now))
        counts[kind] &+= 1
        published += 1
        pacer.did()
        return true
    }

    /// Sleeps until the next transaction is due, or the stem's deadline.
    package mutating func idle(until deadline: Int64) {
        let done = limit > 0 && published >= limit
        sleepUntil(monotonicNanos: done || pacer.rate == 0 ? deadline : min(deadline, pacer.nextDue))
    }

    package mutating func writeMetrics() {
        countsCell.publish(counts)
        backlogCell.set(UInt64(lastBacklog))
    }

    // MARK: seccomp

    package static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}
