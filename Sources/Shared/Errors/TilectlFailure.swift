/// Every failure tilectl reports to its user: one line, and the exit status
/// the command ends with. There are two: `ConfigError` (2, the topology file
/// or the command line is wrong) and `RuntimeError` (1, the host, a
/// privilege, a resource or a tile failed). The entry point prints
/// `description` and exits with `exitStatus`; nothing else decides either.
package protocol TilectlFailure: Error, CustomStringConvertible, Sendable {
    /// 1 or 2, as `tilectl --help` documents.
    var exitStatus: Int32 { get }
}
