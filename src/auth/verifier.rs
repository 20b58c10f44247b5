//! Turns a bearer token into verified [`Claims`], or says precisely why not.
//!
//! Order: size limit, structure, header (`alg` allow-list, `crit`) — all before any network
//! call — then the key, the signature, and the claim rules.

use std::{collections::HashMap, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{
    claim_rules::ClaimRules,
    claims::Claims,
    error::{AuthError, TokenRejection},
    jwks_source::{FetchError, FetchLimits, JwksSource},
    key_store::KeyStore,
    refresh::RefreshPolicy,
};
use crate::{metrics::Metrics, settings::Settings};

/// Verifies access tokens of one issuer for one audience.
pub struct Verifier {
    keys: Arc<KeyStore>,
    rules: ClaimRules,
    algorithms: Vec<Algorithm>,
    accepted: String,
    signature_only: HashMap<Algorithm, Validation>,
    max_token_bytes: usize,
    metrics: Arc<Metrics>,
}

/// The part of the JOSE header this service reads.
#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

impl Verifier {
    /// A verifier for tokens of `issuer` for `audience`, fetching keys and checking as `settings` say.
    pub fn new(
        issuer: String,
        audience: String,
        settings: &Settings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, FetchError> {
        let limits = FetchLimits {
            connect_timeout: settings.jwks.connect_timeout,
            timeout: settings.jwks.timeout,
            max_body_bytes: settings.jwks.max_body_bytes,
        };
        let source = JwksSource::new(issuer.clone(), settings.auth0.jwks_url.as_deref(), &limits)?;
        let algorithms = settings.auth0.algorithms.clone();
        let policy = RefreshPolicy::from_settings(&settings.jwks);
        let keys = Arc::new(KeyStore::new(source, algorithms.clone(), policy, Arc::clone(&metrics)));
        let rules = ClaimRules { issuer, audience, leeway: settings.auth0.leeway };
        // jsonwebtoken checks the signature; the claims are checked by `ClaimRules`.
        let signature_only = algorithms
            .iter()
            .map(|alg| {
                let mut validation = Validation::new(*alg);
                validation.validate_exp = false;
                validation.validate_aud = false;
                validation.required_spec_claims.clear();
                (*alg, validation)
            })
            .collect();
        let accepted = algorithms.iter().map(|alg| format!("{alg:?}")).collect::<Vec<_>>().join(", ");
        Ok(Verifier {
            keys,
            rules,
            algorithms,
            accepted,
            signature_only,
            max_token_bytes: settings.auth0.max_token_bytes,
            metrics,
        })
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        &self.rules.issuer
    }

    /// The audience accepted tokens carry.
    pub fn audience(&self) -> &str {
        &self.rules.audience
    }

    /// The store of the issuer's signing keys.
    pub fn key_store(&self) -> &Arc<KeyStore> {
        &self.keys
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenRejection::TooLong { limit: self.max_token_bytes }.into());
        }
        let header = parse_header(token)?;
        let alg = self.allowed_algorithm(&header.alg)?;
        if header.crit.is_some() {
            return Err(TokenRejection::CriticalHeader.into());
        }
        let key = self.keys.key_for(header.kid.as_deref(), alg).await?;
        if !key.fits(alg) {
            return Err(
                TokenRejection::KeyAlgorithmMismatch { kid: header.kid.unwrap_or_default(), alg: header.alg }.into()
            );
        }
        let validation = &self.signature_only[&alg];
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding_key, validation)
            .map_err(|error| rejection_for(error.kind()))?
            .claims;
        self.rules.check(&claims, unix_now())?;
        self.metrics.observe_verified();
        Ok(claims)
    }

    fn allowed_algorithm(&self, name: &str) -> Result<Algorithm, TokenRejection> {
        let not_allowed = || TokenRejection::AlgorithmNotAllowed {
            alg: name.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect(),
            accepted: self.accepted.clone(),
        };
        let alg: Algorithm = name.parse().map_err(|_| not_allowed())?;
        if alg.family() == AlgorithmFamily::Hmac || !self.algorithms.contains(&alg) {
            return Err(not_allowed());
        }
        Ok(alg)
    }
}

/// Reads the JOSE header of a compact JWS without trusting anything in it yet.
fn parse_header(token: &str) -> Result<TokenHeader, TokenRejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::NotAJwt);
    };
    let json =
        URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenRejection::Malformed("the header is not base64url".into()))?;
    serde_json::from_slice(&json)
        .map_err(|_| TokenRejection::Malformed("the header is not a JSON object with an alg".into()))
}

fn rejection_for(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
        ErrorKind::Base64(_) => TokenRejection::Malformed("a part is not base64url".into()),
        ErrorKind::Json(error) => TokenRejection::Malformed(format!("the claims are not valid: {error}")),
        ErrorKind::Utf8(_) => TokenRejection::Malformed("the claims are not UTF-8".into()),
        other => TokenRejection::Malformed(format!("{other:?}")),
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}
