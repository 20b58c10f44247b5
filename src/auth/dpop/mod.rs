//! DPoP (RFC 9449): access tokens bound to a key that the client proves it holds, with a new
//! signed proof on every request. After the access token passed the verifier, a request
//! `Authorization: DPoP <token>` with one `DPoP: <proof>` header goes through:
//!
//! 1. **the proof** (`proof.rs`): a compact JWS with `typ` `dpop+jwt`, an `alg` of
//!    `dpop.algorithms`, a public `jwk` (`proof_key.rs`), and a signature that verifies with it;
//! 2. **what it proves**: `htm` is the request's method, `htu` its URL under the service's public
//!    URL (`target.rs`), `iat` within `dpop.max_age` in the past and `dpop.leeway` in the future,
//!    `ath` the hash of the token, and the token's `cnf.jkt` the thumbprint of the proof's key;
//! 3. **once** (`replay/`): the proof's `jti` enters the replay store, which refuses one it holds.
//!
//! The refusals are [`ProofRejection`]s (401 `invalid_dpop_proof`); a replay store that cannot
//! answer refuses with 503. Which schemes a request may use is [`DpopMode`]'s policy, applied by
//! the security scheme (`scheme.rs`).

mod proof;
mod proof_key;
pub mod replay;
mod target;

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use poem::http::HeaderMap;
use serde::Deserialize;

pub use self::{
    proof::{MAX_JTI_CHARS, MAX_PROOF_BYTES, SignedProof},
    replay::{MemoryReplayStore, ProofId, RedisReplayStore, ReplayStore, ReplayUnavailable},
    target::PublicUrl,
};
use super::{
    answers::{AuthError, ProofRejection},
    claims::Claims,
    verifier::unix_now,
};

/// Which schemes the protected operations accept (`dpop.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// Bearer tokens and DPoP-bound tokens.
    #[default]
    Allowed,
    /// DPoP-bound tokens only; a bearer token is refused.
    Required,
    /// Bearer tokens only; the DPoP scheme is not recognised.
    Disabled,
}

impl DpopMode {
    /// Whether `Authorization: Bearer` is accepted.
    pub fn accepts_bearer(self) -> bool {
        self != DpopMode::Required
    }

    /// Whether `Authorization: DPoP` is accepted.
    pub fn accepts_dpop(self) -> bool {
        self != DpopMode::Disabled
    }
}

/// What a proof must be, from the settings.
#[derive(Debug, Clone)]
pub struct ProofPolicy {
    /// The algorithms a proof may be signed with (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// How old a proof's `iat` may be.
    pub max_age: Duration,
    /// How far ahead of this clock a proof's `iat` may be.
    pub leeway: Duration,
}

/// A request as far as its proof is concerned.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's path, as received.
    pub path: &'a str,
}

/// The header carrying a DPoP proof.
pub const DPOP_HEADER: &str = "dpop";

/// The request's proof: `None` without a `DPoP` header; refused when there are several or the
/// value is not text.
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, ProofRejection> {
    let mut proofs = headers.get_all(DPOP_HEADER).iter();
    let Some(proof) = proofs.next() else {
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(ProofRejection::Several);
    }
    proof.to_str().map(Some).map_err(|_| ProofRejection::NotAJws)
}

/// Checks DPoP proofs, at the protected operations and at the development issuer's token endpoint.
pub struct DpopChecker {
    mode: DpopMode,
    policy: ProofPolicy,
    /// The algorithms, space-separated: the challenge's `algs` and the refusal's text.
    algs: String,
    public_url: PublicUrl,
    replay: ReplayStore,
}

impl DpopChecker {
    /// A checker in `mode` of proofs as `policy` says, for requests to `public_url`, remembering
    /// their `jti`s in `replay`.
    pub fn new(mode: DpopMode, policy: ProofPolicy, public_url: PublicUrl, replay: ReplayStore) -> Self {
        let mut names: Vec<String> = policy.algorithms.iter().map(|alg| format!("{alg:?}")).collect();
        if policy.algorithms.contains(&Algorithm::EdDSA) {
            // RFC 9864's fully specified name, which newer clients send.
            names.push("Ed25519".to_owned());
        }
        let algs = names.join(" ");
        DpopChecker { mode, policy, algs, public_url, replay }
    }

    /// Which schemes are accepted.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The accepted proof algorithms, space-separated (`ES256 RS256`).
    pub fn algs(&self) -> &str {
        &self.algs
    }

    /// The accepted proof algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.policy.algorithms
    }

    /// The replay store in use.
    pub fn replay_store(&self) -> &ReplayStore {
        &self.replay
    }

    /// Checks the proof of a request to a protected operation carrying `token`, whose verified
    /// `claims` must bind it to the proof's key; the proof's `jti` is recorded last, once
    /// everything else holds.
    pub async fn check_request(
        &self,
        proof: &str,
        target: ProofTarget<'_>,
        token: &str,
        claims: &Claims,
    ) -> Result<(), AuthError> {
        let proof = self.check_proof(proof, target)?;
        let ath = proof.ath.as_deref().ok_or(ProofRejection::MissingClaim("ath"))?;
        if ath != URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())) {
            return Err(ProofRejection::TokenHashMismatch.into());
        }
        if claims.confirmation_key() != Some(proof.jkt.as_str()) {
            return Err(ProofRejection::KeyMismatch.into());
        }
        self.remember(&proof).await
    }

    /// Checks a proof on its own, as a token endpoint does (RFC 9449 §4.3): signature, `htm`,
    /// `htu` and `iat`. The caller checks `ath` and the key binding it needs, then
    /// [`remember`](Self::remember)s it.
    pub fn check_proof(&self, proof: &str, target: ProofTarget<'_>) -> Result<SignedProof, ProofRejection> {
        let proof = proof::verify_signature(proof, &self.policy.algorithms, &self.algs)?;
        if proof.htm != target.method {
            return Err(ProofRejection::MethodMismatch {
                htm: proof::safe(&proof.htm),
                method: target.method.to_owned(),
            });
        }
        if let Err(expected) = self.public_url.check(&proof.htu, target.path) {
            return Err(ProofRejection::UrlMismatch { expected });
        }
        let now = unix_now();
        let max_age = i64::try_from(self.policy.max_age.as_secs()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.policy.leeway.as_secs()).unwrap_or(i64::MAX);
        if proof.iat < now.saturating_sub(max_age) {
            return Err(ProofRejection::Stale { max_age: self.policy.max_age.as_secs() });
        }
        if proof.iat > now.saturating_add(leeway) {
            return Err(ProofRejection::FromTheFuture);
        }
        Ok(proof)
    }

    /// Records the proof's `jti`: refused if it was seen within the acceptance window.
    pub async fn remember(&self, proof: &SignedProof) -> Result<(), AuthError> {
        // A proof can be accepted until its `iat` is `max_age` old, and its `iat` may be up to
        // `leeway` ahead: it is remembered at least that long.
        let window = self.policy.max_age + self.policy.leeway;
        match self.replay.first_use(ProofId::new(&proof.jkt, &proof.jti), window).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProofRejection::Replayed.into()),
            Err(unavailable) => Err(AuthError::ReplayCheckUnavailable(unavailable)),
        }
    }
}
