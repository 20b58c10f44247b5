//! The open-files limit: every connection holds a file descriptor, so the soft limit (often
//! 1,024) is raised to the hard limit at start-up, as Go's runtime and nginx do, and the
//! connection cap is fitted under what remains.

/// Descriptors kept for everything that is not a client connection: the listeners, the
/// connections to the identity provider, the runtime's own, logs.
pub const RESERVED: u64 = 64;

/// The soft limit before and after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
}

impl OpenFiles {
    /// Raises the soft limit to the hard limit (`u64::MAX` stands for unlimited).
    pub fn raise() -> std::io::Result<Self> {
        let (before, _) = rlimit::Resource::NOFILE.get()?;
        let now = rlimit::increase_nofile_limit(u64::MAX)?;
        Ok(OpenFiles { before, now })
    }

    /// The most client connections the limit leaves room for: the limit less [`RESERVED`], and at
    /// least half the limit.
    pub fn connection_room(&self) -> usize {
        let room = self.now.saturating_sub(RESERVED).max(self.now / 2);
        usize::try_from(room).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_leaves_the_reserve_free() {
        assert_eq!(OpenFiles { before: 1024, now: 1024 }.connection_room(), 960);
        assert_eq!(OpenFiles { before: 1024, now: 100 }.connection_room(), 50);
        assert_eq!(OpenFiles { before: 1024, now: u64::MAX }.connection_room(), usize::MAX - 64);
    }
}
