//! The drain a load balancer can rely on. From the shutdown signal on, `/readyz` answers 503 and
//! every answer closes its connection (`Connection: close`), so the balancer takes the instance
//! out of rotation and stops reusing its connections while requests still succeed; only after
//! `server.shutdown_delay` does the server stop accepting and finish what is in flight.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// Whether the service is draining; cheap to clone and to read on every answer.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// A service serving normally.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, readiness fails and answers close their connections.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`start`](Self::start) was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
