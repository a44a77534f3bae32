#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The shipped logrotate configuration, run by the real logrotate against
/// a topology that logs at debug.
extension Integration {
    @Suite struct LogRotationTests {
        @Test func tenRotationsUnderLoadLoseAndTearNoLine() throws {
            let fx = try Fixture("validator.toml", pageSize: "normal")
            defer { fx.tearDown() }
            let logs = fx.dir + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let log = logs + "/validator.log"
            try fx.setLogPath(log)
            try fx.edit {
                $0.replacingOccurrences(of: "level_logfile = \"info\"", with: "level_logfile = \"debug\"")
                    + "\n[tiles.chatter]\nrate = 500\n"
            }
            // The shipped file, pointed at this test's directory and binary.
            var conf = try String(contentsOfFile: Binary.packageRoot + "/configs/logrotate/tilectl", encoding: .utf8)
            conf = conf.replacingOccurrences(of: "/var/log/tilectl/*.log", with: logs + "/*.log")
                .replacingOccurrences(of: "/usr/local/bin/tilectl reopen-logs", with: "\(Binary.testbed) reopen-logs --config \(fx.config)")
            #expect(conf.contains("\(Binary.testbed) reopen-logs"))
            let confPath = fx.dir + "/logrotate.conf"
            try conf.write(toFile: confPath, atomically: true, encoding: .utf8)
            chmod(confPath, 0o644)

            let run = try fx.boot(binary: Binary.testbed)
            defer { run.kill(SIGKILL); _ = run.waitForExit(timeout: 10) }
            for i in 1...10 {
                Thread.sleep(forTimeInterval: 0.4)
                let rotate = try LiveProcess("/usr/sbin/logrotate", ["--force", "--state", fx.dir + "/logrotate.state", confPath])
                #expect(rotate.waitForExit(timeout: 30))
                #expect(rotate.exitStatus == 0, "logrotate: \(rotate.stdout) \(rotate.stderr)")
                #expect(eventually(timeout: 10) { run.stderr.contains("(SIGUSR1; \(i) so far)") }, "rotation \(i): \(run.stderr)")
            }
            Thread.sleep(forTimeInterval: 0.4)
            run.kill(SIGTERM)
            #expect(run.waitForExit(timeout: 30))
            #expect(run.exitStatus == 0, "\(run.stderr)")

            // validator.log, .1, then .2.gz to .10.gz (delaycompress).
            let files = try FileManager.default.contentsOfDirectory(atPath: logs).sorted()
            #expect(files.count == 11, "\(files)")
            let all = try LiveProcess("/bin/sh", ["-c", "for f in \"$0\"/validator.log*; do zcat -f \"$f\"; done", logs])
            #expect(all.waitForExit(timeout: 30))
            let lines = all.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            let whole = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} (DEBUG  |INFO   |NOTICE |WARNING|ERR    ) [a-z_]+(:[0-9]+)?: .*/
            let torn = lines.filter { $0.wholeMatch(of: whole) == nil }
            #expect(torn.isEmpty, "lines not whole: \(torn.prefix(5))")
            let numbers = lines.compactMap { $0.firstMatch(of: /chatter:0: chatter line ([0-9]+)$/).flatMap { Int($0.1) } }
            let logged = try #require(
                lines.lazy.compactMap { $0.firstMatch(of: /chatter:0: chatter: logged ([0-9]+) lines$/).flatMap { Int($0.1) } }.first)
            #expect(logged > 1000, "the chatter logged \(logged) lines")
            #expect(numbers.count == logged, "lines in the files \(numbers.count), logged \(logged)")
            #expect(Set(numbers) == Set(1...logged), "missing: \(Set(1...logged).subtracting(numbers).sorted().prefix(10))")
            #expect(lines.filter { $0.contains("supervisor: reopened the log file \(log)") }.count == 10)
            print("log rotation: \(lines.count) lines in \(files.count) files, \(logged) numbered chatter lines, none lost or torn")
        }
    }
}
