//! A DPoP proof (RFC 9449 §4.2) read strictly and its signature verified with the key it
//! carries: a compact JWS whose header has `typ` `dpop+jwt`, an allowed asymmetric `alg` and a
//! public `jwk`, and whose claims are unique members of the registered types. What the claims
//! must say about the request is checked by the caller (`mod.rs`).

use std::borrow::Cow;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::{Deserialize, de::IgnoredAny};

use super::proof_key::{JwkMembers, ProofKey};
use crate::{
    claims::NumericDate,
    proof_rejection::ProofRejection,
    rejection::{JsonProblem, TokenPart},
};

/// Longest proof accepted, in bytes: an RSA-4096 key and every claim fit in a third of it.
pub const MAX_PROOF_BYTES: usize = 8192;

/// Longest `jti` accepted, in characters (a UUID has 36, 32 random bytes in base64url 43).
pub const MAX_JTI_CHARS: usize = 256;

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<JwkMembers>,
    crit: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Claims<'a> {
    #[serde(borrow)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow)]
    htm: Option<Cow<'a, str>>,
    #[serde(borrow)]
    htu: Option<Cow<'a, str>>,
    iat: Option<NumericDate>,
    exp: Option<NumericDate>,
    #[serde(borrow)]
    ath: Option<Cow<'a, str>>,
    #[serde(borrow)]
    nonce: Option<Cow<'a, str>>,
}

/// A proof whose signature verified with its own key; its claims are what the client asserts.
pub struct SignedProof {
    /// The thumbprint of the key that signed it, base64url: what `cnf.jkt` names.
    pub jkt: String,
    /// The same thumbprint, as the SHA-256 digest.
    pub thumbprint: [u8; 32],
    /// Its unique id.
    pub jti: String,
    /// The HTTP method it is for.
    pub htm: String,
    /// The URL it is for.
    pub htu: String,
    /// When it was made.
    pub iat: i64,
    /// When it expires, if it says.
    pub exp: Option<i64>,
    /// The hash of the access token it accompanies (absent at a token endpoint).
    pub ath: Option<String>,
    /// The server-issued nonce it carries, if any.
    pub nonce: Option<String>,
}

/// Reads `proof` and verifies its signature with its `jwk`, accepting the algorithms `accepted`
/// (named in `accepted_names` for the refusal).
pub fn verify_signature(
    proof: &str,
    accepted: &[Algorithm],
    accepted_names: &str,
) -> Result<SignedProof, ProofRejection> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofRejection::TooLong { limit: MAX_PROOF_BYTES });
    }
    let mut parts = proof.split('.');
    let (Some(header_part), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofRejection::NotAJws);
    };
    let header_json = decode(header_part, TokenPart::Header)?;
    let header: Header =
        serde_json::from_slice(&header_json).map_err(|error| ProofRejection::Header(JsonProblem::from(&error)))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(ProofRejection::WrongType { typ: header.typ.as_deref().map(safe) });
    }
    let alg_name = header.alg.as_deref().unwrap_or_default();
    let alg =
        algorithm(alg_name).filter(|alg| alg.family() != AlgorithmFamily::Hmac && accepted.contains(alg)).ok_or_else(
            || ProofRejection::AlgorithmNotAllowed { alg: safe(alg_name), accepted: accepted_names.to_owned() },
        )?;
    if header.crit.is_some() {
        return Err(ProofRejection::CriticalHeader);
    }
    let key = ProofKey::from_jwk(header.jwk.as_ref().ok_or(ProofRejection::MissingKey)?, alg)?;
    let signature = decode(signature, TokenPart::Signature)?;
    let signing_input = &proof[..header_part.len() + 1 + payload.len()];
    if !key.verifies(signing_input.as_bytes(), &signature) {
        return Err(ProofRejection::BadSignature);
    }
    let claims_json = decode(payload, TokenPart::Payload)?;
    let claims: Claims<'_> =
        serde_json::from_slice(&claims_json).map_err(|error| ProofRejection::Claims(JsonProblem::from(&error)))?;
    let jti = claims.jti.ok_or(ProofRejection::MissingClaim("jti"))?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_CHARS {
        return Err(ProofRejection::BadJti { limit: MAX_JTI_CHARS });
    }
    Ok(SignedProof {
        jkt: key.thumbprint(),
        thumbprint: *key.digest(),
        jti: jti.into_owned(),
        htm: claims.htm.ok_or(ProofRejection::MissingClaim("htm"))?.into_owned(),
        htu: claims.htu.ok_or(ProofRejection::MissingClaim("htu"))?.into_owned(),
        iat: claims.iat.ok_or(ProofRejection::MissingClaim("iat"))?.0,
        exp: claims.exp.map(|exp| exp.0),
        ath: claims.ath.map(Cow::into_owned),
        nonce: claims.nonce.map(Cow::into_owned),
    })
}

/// The algorithm `name` names: a JWS name, or `Ed25519`, the fully specified name of EdDSA with
/// Ed25519 (RFC 9864) that newer clients send.
fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "Ed25519" => Some(Algorithm::EdDSA),
        name => name.parse().ok(),
    }
}

fn decode(part: &str, which: TokenPart) -> Result<Vec<u8>, ProofRejection> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| ProofRejection::NotBase64(which))
}

/// A value from the proof, reduced to characters safe to quote back.
pub fn safe(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric() || "+-_./".contains(*c)).take(32).collect()
}
