//! The issuer's signing keys, from the network to a key that verifies a signature:
//!
//! 1. [`ProviderUrl`] — the one URL policy (https, or http on loopback) for every fetch;
//! 2. [`JwksSource`] — fetches the key set document, from a configured URL or by discovery;
//! 3. [`KeySet`] — parses it once into [`VerifyingKey`]s (RSA keys prepared for aws-lc-rs);
//! 4. [`KeyStore`] — holds the key set in a moka cache and decides, by its [`RefreshPolicy`],
//!    when to fetch again: TTL, unknown-`kid` cooldown, backoff, stale keys during outages.

mod key_set;
mod provider_url;
mod refresh;
mod source;
mod store;

pub use key_set::{KeySet, KeySetError};
pub use provider_url::{ProviderUrl, UrlRefused};
pub use refresh::RefreshPolicy;
pub use source::{Failures, FetchError, FetchHeaders, FetchLimits, JwksSource, LoginEndpoints, TransportFailure};
pub use store::{KeyHealth, KeyStore};
