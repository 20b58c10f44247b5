//! Server-issued DPoP nonces (RFC 9449 §9), stateless: a nonce is a time slot and an HMAC of it
//! under `dpop.nonce_secret`, so every replica holding the secret issues and accepts the same
//! nonces without sharing any state.
//!
//! Time is cut into slots of half `dpop.nonce_lifetime`; the nonce of a slot is accepted during
//! that slot and the next one, so a nonce lives between half the lifetime and the whole of it,
//! and a client that received the new nonce of a slot can use it until the end of the next one.
//! A proof carrying a nonce stops being acceptable when its nonce does, which bounds how long
//! its `jti` must be remembered.

use std::{sync::RwLock, time::Duration};

use aws_lc_rs::{constant_time, hmac};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::HeaderValue;

/// The header that carries a nonce to the client.
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// How many bytes of the HMAC a nonce carries.
const TAG_BYTES: usize = 16;

/// Why a proof's nonce is not accepted: the client must retry with the nonce of `DPoP-Nonce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceProblem {
    /// The proof has no `nonce` claim.
    #[error("the DPoP proof has no nonce: this API requires the server-issued nonce of its DPoP-Nonce header")]
    Missing,
    /// The nonce was not issued by this service, or its lifetime is over.
    #[error("the DPoP proof's nonce is not a current nonce of this API: retry with the nonce of its DPoP-Nonce header")]
    NotCurrent,
}

/// Issues and checks nonces.
pub struct Nonces {
    key: hmac::Key,
    slot_seconds: i64,
    /// The nonce of the current slot, made once per slot.
    current: RwLock<(i64, HeaderValue)>,
}

impl Nonces {
    /// Nonces under `secret` (at least [`MIN_SECRET_BYTES`], checked by the settings) that live
    /// for at most `lifetime` (two seconds or more).
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let slot_seconds = i64::try_from((lifetime.as_secs() / 2).max(1)).unwrap_or(i64::MAX);
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let current = RwLock::new((i64::MIN, HeaderValue::from_static("")));
        Nonces { key, slot_seconds, current }
    }

    /// The nonce to send at the Unix time `now`.
    pub fn current(&self, now: i64) -> HeaderValue {
        let slot = now.div_euclid(self.slot_seconds);
        {
            let current = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.0 == slot {
                return current.1.clone();
            }
        }
        let value = HeaderValue::from_str(&self.nonce_of(slot)).expect("base64url is a valid header value");
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = (slot, value.clone());
        value
    }

    /// Checks the nonce a proof carries at the Unix time `now`; when it is current, the first Unix
    /// time at which it no longer is.
    pub fn check(&self, nonce: Option<&str>, now: i64) -> Result<i64, NonceProblem> {
        let nonce = nonce.ok_or(NonceProblem::Missing)?;
        let mut bytes = [0_u8; 8 + TAG_BYTES];
        let decoded = URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes).map_err(|_| NonceProblem::NotCurrent)?;
        if decoded != bytes.len() {
            return Err(NonceProblem::NotCurrent);
        }
        let slot = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        let current = now.div_euclid(self.slot_seconds);
        if slot != current && slot != current - 1 {
            return Err(NonceProblem::NotCurrent);
        }
        let tag = hmac::sign(&self.key, &slot.to_be_bytes());
        constant_time::verify_slices_are_equal(&tag.as_ref()[..TAG_BYTES], &bytes[8..])
            .map_err(|_| NonceProblem::NotCurrent)?;
        Ok((slot + 2).saturating_mul(self.slot_seconds))
    }

    fn nonce_of(&self, slot: i64) -> String {
        let tag = hmac::sign(&self.key, &slot.to_be_bytes());
        let mut bytes = [0_u8; 8 + TAG_BYTES];
        bytes[..8].copy_from_slice(&slot.to_be_bytes());
        bytes[8..].copy_from_slice(&tag.as_ref()[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_nonce_lives_for_its_slot_and_the_next() {
        let nonces = Nonces::new(&[7; 32], Duration::from_secs(60));
        let nonce = nonces.current(NOW);
        let nonce = nonce.to_str().unwrap();
        assert_eq!(nonce.len(), 32);
        assert_eq!(nonces.check(Some(nonce), NOW), Ok(NOW + 60));
        assert_eq!(nonces.check(Some(nonce), NOW + 59), Ok(NOW + 60));
        assert_eq!(nonces.check(Some(nonce), NOW + 60), Err(NonceProblem::NotCurrent));
        assert_eq!(nonces.check(Some(nonce), NOW - 1), Err(NonceProblem::NotCurrent), "not yet issued");
        assert_ne!(nonces.current(NOW + 30).to_str().unwrap(), nonce, "a new nonce every half lifetime");
        assert_eq!(nonces.check(None, NOW), Err(NonceProblem::Missing));
    }

    #[test]
    fn only_the_holders_of_the_secret_make_nonces() {
        let (ours, replica, theirs) = (
            Nonces::new(&[7; 32], Duration::from_secs(60)),
            Nonces::new(&[7; 32], Duration::from_secs(60)),
            Nonces::new(&[8; 32], Duration::from_secs(60)),
        );
        let nonce = ours.current(NOW);
        assert!(replica.check(Some(nonce.to_str().unwrap()), NOW + 1).is_ok(), "a replica with the secret");
        let forged = theirs.current(NOW);
        assert_eq!(ours.check(Some(forged.to_str().unwrap()), NOW), Err(NonceProblem::NotCurrent));
        for garbage in ["", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not base64 at all!!!!!!!!!!!!!!!"] {
            assert_eq!(ours.check(Some(garbage), NOW), Err(NonceProblem::NotCurrent), "{garbage}");
        }
    }
}
