/// What this binary is: `tilectl --version` prints it, and the metric tile
/// exports it as `tilectl_build_info{version,commit} 1`, so a dashboard
/// shows what runs where.
package enum BuildInfo {
    /// The release, as semantic versioning reads it.
    package static let version = "0.1.0"
    /// The git commit built (40 hex digits, `-dirty` when the work tree had
    /// changes), or `unknown` when built outside a git checkout.
    package static let commit = buildCommit
    /// `0.1.0 (commit 1a2b…)`.
    package static var description: String { "\(version) (commit \(commit))" }
}
