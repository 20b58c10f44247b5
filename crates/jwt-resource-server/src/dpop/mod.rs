//! DPoP (RFC 9449): access tokens bound to a key that the client proves it holds, with a new
//! signed proof on every request. After the access token passed the verifier, a request
//! `Authorization: DPoP <token>` with one `DPoP: <proof>` header goes through:
//!
//! 1. **the proof** (`proof.rs`): a compact JWS with `typ` `dpop+jwt`, an `alg` of
//!    `dpop.algorithms`, a public `jwk` (`proof_key.rs`), and a signature that verifies with it;
//! 2. **what it proves**: `htm` is the method the client sent, `htu` its URL under the service's
//!    public URL (`target.rs`), `iat` within `dpop.max_age` in the past and `dpop.leeway` in the
//!    future, `exp` (when present) not past, `ath` the hash of the token, the server's current
//!    nonce when `dpop.nonce` requires one (`nonce.rs`), and the token's `cnf.jkt` the thumbprint
//!    of the proof's key;
//! 3. **once** (`replay/`): the proof enters the replay store until it could no longer be
//!    accepted; the store refuses one it holds.
//!
//! The refusals are [`ProofRejection`]s (401 `invalid_dpop_proof`, or `use_dpop_nonce` with a
//! `DPoP-Nonce` header); a token bound to another key is an invalid token; a replay store that
//! cannot answer refuses with 503. Which schemes a request may use is [`DpopMode`]'s policy,
//! applied by [`ResourceServer::authenticate`](crate::ResourceServer::authenticate).

mod nonce;
mod proof;
mod proof_key;
pub mod replay;
mod target;

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::HeaderMap;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

#[cfg(feature = "redis")]
pub use self::replay::RedisReplayStore;
pub use self::{
    nonce::{DPOP_NONCE_HEADER, MIN_SECRET_BYTES, NonceProblem, Nonces},
    proof::{MAX_JTI_CHARS, MAX_PROOF_BYTES, SignedProof},
    replay::{KeyId, MemoryReplayStore, ProofId, Remembered, ReplayStore, ReplayUnavailable},
    target::PublicUrl,
};
use crate::{
    claims::Claims,
    clock::SharedClock,
    proof_rejection::ProofRejection,
    rejection::{AuthError, TokenRejection},
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

/// What a proof must be.
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
    /// The method the client sent (`HEAD` stays `HEAD`, though the routes answer it as `GET`).
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
    nonces: Option<Nonces>,
    clock: SharedClock,
}

impl DpopChecker {
    /// A checker in `mode` of proofs as `policy` says, for requests to `public_url`, remembering
    /// them in `replay`, requiring the current nonce of `nonces` when given, reading `clock`.
    pub(crate) fn new(
        mode: DpopMode,
        policy: ProofPolicy,
        public_url: PublicUrl,
        replay: ReplayStore,
        nonces: Option<Nonces>,
        clock: SharedClock,
    ) -> Self {
        let mut names: Vec<String> = policy.algorithms.iter().map(|alg| format!("{alg:?}")).collect();
        if policy.algorithms.contains(&Algorithm::EdDSA) {
            // RFC 9864's fully specified name, which newer clients send.
            names.push("Ed25519".to_owned());
        }
        let algs = names.join(" ");
        DpopChecker { mode, policy, algs, public_url, replay, nonces, clock }
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

    /// The nonces proofs must carry, when `dpop.nonce` requires them.
    pub fn nonces(&self) -> Option<&Nonces> {
        self.nonces.as_ref()
    }

    /// Checks the proof of a request to a protected operation carrying `token`, whose verified
    /// `claims` must bind it to the proof's key; the proof is recorded last, once everything
    /// else holds.
    pub async fn check_request(
        &self,
        proof: &str,
        target: ProofTarget<'_>,
        token: &str,
        claims: &Claims,
    ) -> Result<(), AuthError> {
        let now = self.clock.now().unix_seconds();
        let proof = self.check_proof_at(proof, target, now)?;
        let ath = proof.ath.as_deref().ok_or(ProofRejection::MissingClaim("ath"))?;
        if ath != URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())) {
            return Err(ProofRejection::TokenHashMismatch.into());
        }
        let mut until = self.acceptable_until(&proof);
        if let Some(nonces) = &self.nonces {
            let nonce_until = nonces.check(proof.nonce.as_deref(), now).map_err(ProofRejection::Nonce)?;
            until = until.min(nonce_until);
        }
        if claims.confirmation_key() != Some(proof.jkt.as_str()) {
            return Err(TokenRejection::KeyMismatch.into());
        }
        self.remember_at(&proof, until, now).await
    }

    /// Checks a proof on its own, as a token endpoint does (RFC 9449 §4.3): signature, `htm`,
    /// `htu`, `iat` and `exp`. The caller checks `ath` and the key binding it needs, then
    /// [`remember`](Self::remember)s it.
    pub fn check_proof(&self, proof: &str, target: ProofTarget<'_>) -> Result<SignedProof, ProofRejection> {
        self.check_proof_at(proof, target, self.clock.now().unix_seconds())
    }

    fn check_proof_at(&self, proof: &str, target: ProofTarget<'_>, now: i64) -> Result<SignedProof, ProofRejection> {
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
        let max_age = i64::try_from(self.policy.max_age.as_secs()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.policy.leeway.as_secs()).unwrap_or(i64::MAX);
        if proof.iat < now.saturating_sub(max_age) {
            return Err(ProofRejection::Stale { max_age: self.policy.max_age.as_secs() });
        }
        if proof.iat > now.saturating_add(leeway) {
            return Err(ProofRejection::FromTheFuture);
        }
        if proof.exp.is_some_and(|exp| exp.saturating_add(leeway) <= now) {
            return Err(ProofRejection::Expired);
        }
        Ok(proof)
    }

    /// The first Unix time at which `proof` is no longer accepted by its `iat` and `exp`.
    fn acceptable_until(&self, proof: &SignedProof) -> i64 {
        let max_age = i64::try_from(self.policy.max_age.as_secs()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.policy.leeway.as_secs()).unwrap_or(i64::MAX);
        let by_iat = proof.iat.saturating_add(max_age).saturating_add(1);
        proof.exp.map_or(by_iat, |exp| by_iat.min(exp.saturating_add(leeway)))
    }

    /// Records a proof checked by [`check_proof`](Self::check_proof): refused if it was seen
    /// before, while it could still be accepted.
    pub async fn remember(&self, proof: &SignedProof) -> Result<(), AuthError> {
        self.remember_at(proof, self.acceptable_until(proof), self.clock.now().unix_seconds()).await
    }

    async fn remember_at(&self, proof: &SignedProof, until: i64, now: i64) -> Result<(), AuthError> {
        let remembered =
            Remembered { id: ProofId::new(&proof.thumbprint, &proof.jti), key: KeyId::new(&proof.thumbprint), until };
        match self.replay.first_use(remembered, now).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProofRejection::Replayed.into()),
            Err(unavailable) => Err(AuthError::ReplayCheckUnavailable(unavailable)),
        }
    }
}
