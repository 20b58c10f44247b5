//! A fetched JSON Web Key Set, parsed once into keys ready to verify signatures.

use std::{collections::HashMap, sync::Arc};

use aws_lc_rs::signature::ParsedPublicKey;
use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind,
    jwk::{Jwk, KeyOperations, PublicKeyUse},
};
use serde::Deserialize;

use crate::{
    clock::Timestamp,
    jose::{rsa_parameters, rsa_public_key_der},
};

/// One public key that can verify token signatures.
pub struct VerifyingKey {
    /// The key's `kid`, if it has one.
    pub kid: Option<Arc<str>>,
    /// The key's type.
    pub family: AlgorithmFamily,
    /// The JWK's `alg`, when it pins one.
    pub alg: Option<Algorithm>,
    /// The key in the form jsonwebtoken verifies with.
    pub decoding_key: DecodingKey,
    /// RSA keys parsed once, per allowed algorithm, for verification without re-parsing.
    prepared: Vec<(Algorithm, ParsedPublicKey)>,
}

impl VerifyingKey {
    /// Whether this key may verify a signature made with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        alg.family() == self.family && self.alg.is_none_or(|pinned| pinned == alg)
    }

    /// The key parsed for `alg`, when it was prepared at fetch time (RSA keys).
    pub fn prepared(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.prepared.iter().find(|(prepared, _)| *prepared == alg).map(|(_, key)| key)
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg)
            .finish()
    }
}

/// The outcome of looking a token's key up.
#[derive(Debug)]
pub enum Lookup {
    /// The key to verify with.
    Found(Arc<VerifyingKey>),
    /// The key set has no key with this `kid` (or, without `kid`, none for the algorithm).
    NotFound,
    /// No `kid`, and several keys fit the algorithm.
    Ambiguous(usize),
}

/// The usable signing keys of one fetch.
#[derive(Debug)]
pub struct KeySet {
    by_kid: HashMap<String, Arc<VerifyingKey>>,
    without_kid: Vec<Arc<VerifyingKey>>,
    /// When the keys were fetched.
    pub(crate) fetched_at: Timestamp,
    /// Increases with every successful fetch.
    pub(crate) generation: u64,
    /// How many keys in the document were skipped as unusable.
    pub(crate) skipped: usize,
}

/// Why a key set document is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// Not a JSON object with a `keys` array.
    #[error("the key set is not a JWKS document: {reason}")]
    NotJwks {
        /// What serde_json found wrong.
        reason: String,
    },
    /// No key fits the accepted algorithms.
    #[error("the key set has no usable signing key for {algorithms:?} ({skipped} skipped)")]
    NoUsableKey {
        /// The accepted algorithms.
        algorithms: Vec<Algorithm>,
        /// How many keys were skipped.
        skipped: usize,
    },
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWKS document, keeping the signature keys whose type fits one of `algorithms`,
    /// each prepared for verification as a key store holds it.
    ///
    /// ```
    /// use jwt_resource_server::{Algorithm, KeySet};
    ///
    /// let document = br#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
    ///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    /// let keys = KeySet::parse(document, &[Algorithm::ES256]).unwrap();
    /// assert_eq!(keys.key_ids(), ["k1"]);
    /// assert!(KeySet::parse(document, &[Algorithm::RS256]).is_err()); // no RSA key
    /// ```
    pub fn parse(document: &[u8], algorithms: &[Algorithm]) -> Result<Self, KeySetError> {
        Self::fetched(document, algorithms, 0, Timestamp::default())
    }

    /// Parses the document of fetch number `generation`, made at `fetched_at`.
    pub(crate) fn fetched(
        body: &[u8],
        algorithms: &[Algorithm],
        generation: u64,
        fetched_at: Timestamp,
    ) -> Result<Self, KeySetError> {
        let document: Document =
            serde_json::from_slice(body).map_err(|e| KeySetError::NotJwks { reason: e.to_string() })?;
        let mut set = KeySet { by_kid: HashMap::new(), without_kid: Vec::new(), fetched_at, generation, skipped: 0 };
        for raw in document.keys {
            match usable_key(raw, algorithms) {
                Some(key) => {
                    let key = Arc::new(key);
                    match &key.kid {
                        Some(kid) => {
                            set.by_kid.entry(kid.to_string()).or_insert(key);
                        }
                        None => set.without_kid.push(key),
                    }
                }
                None => set.skipped += 1,
            }
        }
        if set.is_empty() {
            return Err(KeySetError::NoUsableKey { algorithms: algorithms.to_vec(), skipped: set.skipped });
        }
        Ok(set)
    }

    /// Finds the key for a token's `kid` and `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned().map_or(Lookup::NotFound, Lookup::Found),
            None => {
                let mut fitting = self.keys().filter(|key| key.fits(alg));
                match (fitting.next(), fitting.count()) {
                    (None, _) => Lookup::NotFound,
                    (Some(key), 0) => Lookup::Found(key.clone()),
                    (Some(_), others) => Lookup::Ambiguous(others + 1),
                }
            }
        }
    }

    /// Every key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<VerifyingKey>> {
        self.by_kid.values().chain(&self.without_kid)
    }

    /// The key ids, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.by_kid.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.without_kid.is_empty()
    }
}

/// A key meant for signatures, of a type one of `algorithms` uses; `None` otherwise.
fn usable_key(raw: serde_json::Value, algorithms: &[Algorithm]) -> Option<VerifyingKey> {
    let jwk: Jwk = serde_json::from_value(raw).ok()?;
    if jwk.common.public_key_use.as_ref().is_some_and(|usage| *usage != PublicKeyUse::Signature) {
        return None;
    }
    if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(key_alg) => Some(key_alg.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    let decoding_key = DecodingKey::from_jwk(&jwk).ok()?;
    let family = decoding_key.family();
    let fits_allow_list =
        algorithms.iter().any(|allowed| allowed.family() == family && alg.is_none_or(|pinned| pinned == *allowed));
    if family == AlgorithmFamily::Hmac || !fits_allow_list {
        return None;
    }
    let prepared = match decoding_key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => {
            let der = rsa_public_key_der(n, e);
            algorithms
                .iter()
                .filter(|allowed| allowed.family() == family && alg.is_none_or(|pinned| pinned == **allowed))
                .filter_map(|allowed| Some((*allowed, ParsedPublicKey::new(rsa_parameters(*allowed)?, &der).ok()?)))
                .collect()
        }
        DecodingKeyKind::SecretOrDer(_) => Vec::new(),
    };
    Some(VerifyingKey { kid: jwk.common.key_id.map(Arc::from), family, alg, decoding_key, prepared })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, jwk::Jwk};
    use serde_json::{Value, json};

    use super::*;

    fn rsa_jwk(kid: &str, extra: Value) -> Value {
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/primary.pem")).unwrap();
        let key = EncodingKey::from_rsa_pem(&pem).unwrap();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        jwk["kid"] = json!(kid);
        jwk.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        jwk
    }

    #[test]
    fn only_signature_keys_that_fit_the_allow_list_are_kept() {
        let document = json!({"keys": [
            rsa_jwk("sig", json!({"use": "sig"})),
            rsa_jwk("plain", json!({})),
            rsa_jwk("enc", json!({"use": "enc"})),
            rsa_jwk("pinned-rs512", json!({"alg": "RS512"})),
            rsa_jwk("wrap-only", json!({"key_ops": ["wrapKey"]})),
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "OKP-unknown", "kid": "odd"},
        ]});
        let set = KeySet::parse(document.to_string().as_bytes(), &[Algorithm::RS256]).unwrap();
        assert_eq!(set.key_ids(), ["plain", "sig"]);
        assert_eq!(set.skipped, 6);
        assert!(matches!(set.find(Some("sig"), Algorithm::RS256), Lookup::Found(_)));
        assert!(matches!(set.find(Some("enc"), Algorithm::RS256), Lookup::NotFound));
        assert!(matches!(set.find(None, Algorithm::RS256), Lookup::Ambiguous(2)));
    }

    #[test]
    fn a_pinned_alg_must_match_the_token() {
        let document = json!({"keys": [rsa_jwk("pinned", json!({"alg": "RS256"}))]});
        let set = KeySet::parse(document.to_string().as_bytes(), &[Algorithm::RS256, Algorithm::PS256]).unwrap();
        let Lookup::Found(key) = set.find(Some("pinned"), Algorithm::RS256) else { panic!("pinned key") };
        assert!(key.fits(Algorithm::RS256));
        assert!(!key.fits(Algorithm::PS256));
        assert!(matches!(set.find(None, Algorithm::RS256), Lookup::Found(_)));
    }

    #[test]
    fn rsa_keys_are_prepared_for_each_allowed_rsa_algorithm() {
        let document = json!({"keys": [rsa_jwk("k", json!({}))]});
        let set = KeySet::parse(document.to_string().as_bytes(), &[Algorithm::RS256, Algorithm::PS256]).unwrap();
        let Lookup::Found(key) = set.find(Some("k"), Algorithm::RS256) else { panic!("the key") };
        assert!(key.prepared(Algorithm::RS256).is_some());
        assert!(key.prepared(Algorithm::PS256).is_some());
        assert!(key.prepared(Algorithm::RS512).is_none());
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(
            rsa_public_key_der(&[0x00, 0x80], &[0x01, 0x00, 0x01]),
            [0x30, 0x09, 0x02, 0x02, 0x00, 0x80, 0x02, 0x03, 0x01, 0x00, 0x01]
        );
        let long = rsa_public_key_der(&[0x7f; 256], &[3]);
        assert_eq!(&long[..4], &[0x30, 0x82, 0x01, 0x07]);
        assert_eq!(&long[4..8], &[0x02, 0x82, 0x01, 0x00]);
    }

    #[test]
    fn a_document_without_usable_keys_is_an_error() {
        let error = KeySet::parse(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#, &[Algorithm::RS256]).unwrap_err();
        assert_eq!(error, KeySetError::NoUsableKey { algorithms: vec![Algorithm::RS256], skipped: 1 });
        assert!(error.to_string().contains("no usable signing key"), "{error}");
        let error = KeySet::parse(b"<html>", &[Algorithm::RS256]).unwrap_err();
        assert!(error.to_string().contains("not a JWKS document"), "{error}");
    }
}
