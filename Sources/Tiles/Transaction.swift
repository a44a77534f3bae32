/// The transaction-like payload the validator topology moves:
///
///     [0, 64)    Ed25519 signature of bytes [64, size)
///     [64, 96)   the signer's package key
///     [96, size) the message: an 8-byte serial number, then filler
///
/// The fragment's `sig` is the first 8 bytes of the signature: dedup looks
/// at it without reading the payload.
package enum Transaction {
    package static let signatureBytes = 64
    package static let publicKeyBytes = 32
    package static let messageOffset = 96
    /// Header plus the serial number: the smallest well-formed transaction.
    package static let minimumBytes = messageOffset + 8

    /// The tag of a signature: its first 8 bytes.
    @inline(__always)
    package static func tag(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(as: UInt64.self) }
}
