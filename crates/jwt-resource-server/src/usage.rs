//! How much a bounded store holds.

/// What a bounded store (the token cache, the memory replay store) holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// How many entries.
    pub entries: u64,
    /// The bytes they take, as the store counts them.
    pub bytes: u64,
}
