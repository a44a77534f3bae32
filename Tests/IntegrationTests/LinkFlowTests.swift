#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Sums of the samples whose series name starts with `prefix` and whose
/// labels contain every one of `labels`.
func total(_ s: [String: String], _ prefix: String, _ labels: [String] = []) -> UInt64 {
    s.filter { $0.key.hasPrefix(prefix + "{") && labels.allSatisfy($0.key.contains) }
        .reduce(0) { $0 + (UInt64($1.value) ?? 0) }
}

extension Integration {
    @Suite struct LinkFlowTests {
        /// The validator topology, with a finite source.
        static func validator(limit: Int) -> (String) -> String {
            { text in
                text.replacingOccurrences(of: "rate = 10000 ", with: "rate = 0      ")
                    .replacingOccurrences(of: "depth = 512", with: "depth = 256")
                    .replacingOccurrences(of: "pool_size = 8192", with: "pool_size = 4096\nlimit = \(limit)")
                    .replacingOccurrences(of: "cache_size = 4096", with: "cache_size = 2048")
            }
        }

        @Test func theValidatorTopologyConservesEveryTransaction() throws {
            let limit: UInt64 = 3000
            let fx = try Fixture("validator.toml", pageSize: "normal", edit: Self.validator(limit: Int(limit)))
            defer { fx.tearDown() }
            let run = try fx.boot(timeout: 60)
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }

            // Wait until everything the source sent has reached its end.
            var s: [String: String] = [:]
            let drained = eventually(timeout: 60) {
                guard let body = try? fx.scrape().body else { return false }
                s = samples(body)
                let sent = total(s, "source_transactions_total")
                let ended =
                    total(s, "sink_transactions_total") + total(s, "verify_transactions_total", ["result=\"bad_signature\""])
                    + total(s, "verify_transactions_total", ["result=\"malformed\""])
                    + total(s, "dedup_transactions_total", ["result=\"duplicate\""])
                return sent == limit && ended == limit
            }
            #expect(drained, "not drained: \(s.filter { $0.key.contains("transactions_total") })")

            let valid = total(s, "source_transactions_total", ["tx_kind=\"valid\""])
            let dups = total(s, "source_transactions_total", ["tx_kind=\"duplicate\""])
            let bad = total(s, "source_transactions_total", ["tx_kind=\"bad_signature\""])
            #expect(valid + dups + bad == limit)
            #expect(dups > 0 && bad > 0, "the source mixes in duplicates and bad signatures")

            // source -> verify: each fragment consumed by exactly one verify tile,
            // filtered by the other three.
            let verifiers = (0..<4).map { "kind=\"verify\",kind_id=\"\($0)\"" }
            for v in verifiers {
                #expect(total(s, "link_frag_consumed_total", [v]) + total(s, "link_frag_filtered_total", [v]) == limit, "\(v) saw all")
            }
            #expect(total(s, "link_frag_consumed_total", ["link_kind=\"source_verify\""]) == limit)
            // verify: every consumed transaction has an outcome; the bad ones are exactly the corrupted ones.
            #expect(total(s, "verify_transactions_total") == limit)
            #expect(total(s, "verify_transactions_total", ["result=\"bad_signature\""]) == bad)
            #expect(total(s, "verify_transactions_total", ["result=\"malformed\""]) == 0)
            let verified = total(s, "verify_transactions_total", ["result=\"verified\""])
            #expect(verified == valid + dups)
            // verify -> dedup: everything verified arrives; duplicates are exactly the re-sent ones.
            #expect(total(s, "link_frag_consumed_total", ["link_kind=\"verify_dedup\""]) == verified)
            #expect(total(s, "dedup_transactions_total", ["result=\"duplicate\""]) == dups)
            #expect(total(s, "dedup_transactions_total", ["result=\"unique\""]) == valid)
            // dedup -> sink.
            #expect(total(s, "link_frag_consumed_total", ["link_kind=\"dedup_sink\""]) == valid)
            #expect(total(s, "sink_transactions_total") == valid)
            // Reliable links lose nothing.
            for lost in ["link_frag_polling_overrun_total", "link_frag_reading_overrun_total"] {
                #expect(total(s, lost) == 0, "\(lost)")
            }
            #expect(try promtool(try fx.scrape().body) == 0)
        }

        /// source -> sink over one link, the sink slowed down.
        static func slowSink(reliable: Bool) -> String {
            """
            name = "x"
            [shmem]
            page_size = "normal"
            hugetlbfs_mount = "/mnt/x"
            [links.feed]
            depth = 64
            mtu = 400
            reliable = \(reliable)
            [tiles.source]
            outputs = ["feed"]
            rate = 0
            pool_size = 256
            duplicate_fraction = 0.0
            bad_signature_fraction = 0.0
            [tiles.sink]
            inputs = ["feed"]
            delay_ns = 200000
            [tiles.metric]
            prometheus_listen_port = 7999
            """
        }

        @Test func aSlowUnreliableConsumerIsOverrunAndTheProducerNeverStalls() throws {
            let fx = try Fixture(toml: Self.slowSink(reliable: false))
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            usleep(300_000)
            let a = samples(try fx.scrape().body)
            usleep(700_000)
            let b = samples(try fx.scrape().body)
            let sink = ["kind=\"sink\""]
            #expect(total(b, "link_polling_overrun_total", sink) > 0)
            #expect(
                total(b, "link_frag_polling_overrun_total", sink) > total(b, "link_frag_consumed_total", sink),
                "most fragments are lost to the slow consumer")
            // The producer kept publishing at full speed, never held back.
            let source = ["kind=\"source\""]
            #expect(total(b, "tile_backpressure_total", source) == 0)
            #expect(total(b, "tile_regime_duration_nanos_total", source + ["tile_regime=\"backpressured\""]) == 0)
            #expect(total(b, "link_slow_total", sink) == 0)
            let published = total(b, "source_transactions_total") - total(a, "source_transactions_total")
            let consumed = total(b, "sink_transactions_total") - total(a, "sink_transactions_total")
            #expect(published > 10 * consumed, "published \(published), consumed \(consumed)")
        }

        @Test func aSlowReliableConsumerBackpressuresTheProducer() throws {
            let fx = try Fixture(toml: Self.slowSink(reliable: true))
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            usleep(1_000_000)
            let s = samples(try fx.scrape().body)
            let source = ["kind=\"source\""], sink = ["kind=\"sink\""]
            #expect(total(s, "tile_backpressure_total", source) > 0)
            #expect(
                total(s, "tile_regime_duration_nanos_total", source + ["tile_regime=\"backpressured\""]) > 100_000_000,
                "the producer spent most of its time waiting")
            #expect(total(s, "link_slow_total", sink) > 0, "the sink is named as the slow consumer")
            #expect(total(s, "link_frag_polling_overrun_total", sink) == 0)
            #expect(total(s, "link_frag_reading_overrun_total", sink) == 0)
            let published = total(s, "source_transactions_total"), consumed = total(s, "sink_transactions_total")
            // Never more than the ring's depth ahead of the consumer (plus what
            // the two snapshots, taken a moment apart, disagree on).
            #expect(published <= consumed + 64 + 16, "published \(published), consumed \(consumed)")
        }

        @Test func everyNanosecondIsInExactlyOneRegime() throws {
            let fx = try Fixture(pageSize: "normal")
            defer { fx.tearDown() }
            let run = try fx.boot()
            defer { run.kill(SIGTERM); _ = run.waitForExit(timeout: 10) }
            usleep(200_000)
            let a = samples(try fx.scrape().body)
            usleep(1_000_000)
            let b = samples(try fx.scrape().body)
            for tile in ["kind=\"synth\",kind_id=\"0\"", "kind=\"metric\",kind_id=\"0\""] {
                let spent = total(b, "tile_regime_duration_nanos_total", [tile]) - total(a, "tile_regime_duration_nanos_total", [tile])
                let beat = total(b, "tile_heartbeat_timestamp_nanos", [tile]) - total(a, "tile_heartbeat_timestamp_nanos", [tile])
                // Both are published together at housekeeping: they advance alike.
                let drift = Double(spent) / Double(beat)
                #expect(drift > 0.99 && drift < 1.01, "\(tile): regimes \(spent) ns over \(beat) ns of wall time")
            }
        }
    }
}
