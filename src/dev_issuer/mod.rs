//! A development issuer inside the service, so it can be tried without an Auth0 tenant.
//!
//! It generates an RS256 key at start (kept in memory only), publishes an OpenID discovery
//! document and a JWKS under `/dev/`, and mints access tokens at `POST /dev/token` — bound to
//! the client's key (RFC 9449 §5) when the request carries a DPoP proof, for an organization, of
//! a multi-factor sign-in, as asked — and through the authorization code flow with PKCE that
//! Swagger UI's login uses (`authorize`). The
//! verifier fetches those documents over HTTP like any issuer's: nothing in it knows the
//! issuer is local. It never runs in the `production` profile (see `settings`).

pub mod api;
pub mod authorize;

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair, KeySize},
};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash},
};
use jwt_resource_server::SharedClock;
use serde_json::json;

/// Why the development issuer could not be set up or could not mint a token.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// Key generation failed.
    #[error("cannot generate the development signing key")]
    KeyGeneration,
    /// jsonwebtoken refused the key or the token.
    #[error("cannot use the development signing key: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// What a minted token says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenOrder {
    /// Subject.
    pub sub: String,
    /// Space-separated scopes; also written as the `permissions` array.
    pub scope: String,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// The thumbprint of the DPoP key to bind the token to (`cnf.jkt`), if any.
    pub jkt: Option<String>,
    /// How the user signed in: `acr`, `amr` and `auth_time`, when the token says it.
    pub sign_in: SignIn,
    /// The Auth0 Organization the token is issued for (`org_id`), if any.
    pub org_id: Option<String>,
    /// Its name (`org_name`), if any.
    pub org_name: Option<String>,
}

/// How the user signed in, as the token says it (each claim only when set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignIn {
    /// The authentication context (`acr`).
    pub acr: Option<String>,
    /// The methods (`amr`).
    pub amr: Vec<String>,
    /// When, in Unix seconds (`auth_time`).
    pub auth_time: Option<i64>,
}

/// The development issuer's key and documents.
pub struct DevIssuer {
    issuer: String,
    audience: String,
    kid: String,
    key: EncodingKey,
    discovery: String,
    jwks: String,
    clock: SharedClock,
}

impl DevIssuer {
    /// Generates a fresh RS256 key for the issuer at `issuer` (a URL ending in `/dev/`), whose
    /// tokens are issued at the time `clock` reads.
    /// It can sign users in with the authentication contexts `acr_values`.
    pub fn generate(
        issuer: String,
        audience: String,
        acr_values: &[&str],
        clock: SharedClock,
    ) -> Result<Self, DevIssuerError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| DevIssuerError::KeyGeneration)?;
        let pkcs8 = pair.as_der().map_err(|_| DevIssuerError::KeyGeneration)?;
        let key = EncodingKey::from_rsa_pem(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref())).as_bytes())?;
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwks = serde_json::to_string(&JwkSet { keys: vec![jwk] }).map_err(jsonwebtoken::errors::Error::from)?;
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}.well-known/jwks.json"),
            "authorization_endpoint": format!("{issuer}authorize"),
            "token_endpoint": format!("{issuer}oauth/token"),
            "grant_types_supported": ["authorization_code"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "acr_values_supported": acr_values,
        })
        .to_string();
        Ok(DevIssuer { issuer, audience, kid, key, discovery, jwks, clock })
    }

    /// The issuer URL (`iss` of its tokens).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience of its tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The OpenID discovery document.
    pub fn discovery_document(&self) -> &str {
        &self.discovery
    }

    /// The JWKS with the public key.
    pub fn jwks_document(&self) -> &str {
        &self.jwks
    }

    /// The time, in Unix seconds, by the issuer's clock.
    pub fn now(&self) -> i64 {
        self.clock.now().unix_seconds()
    }

    /// Signs an access token for the configured audience, issued now.
    pub fn mint(&self, order: &TokenOrder) -> Result<String, DevIssuerError> {
        let now = self.clock.now().unix_seconds();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let permissions: Vec<&str> = order.scope.split_ascii_whitespace().collect();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": order.sub,
            "aud": self.audience,
            "iat": now,
            "exp": now + i64::from(order.expires_in),
            "scope": order.scope,
            "permissions": permissions,
        });
        if let Some(jkt) = &order.jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        if let Some(acr) = &order.sign_in.acr {
            claims["acr"] = json!(acr);
        }
        if !order.sign_in.amr.is_empty() {
            claims["amr"] = json!(order.sign_in.amr);
        }
        if let Some(auth_time) = order.sign_in.auth_time {
            claims["auth_time"] = json!(auth_time);
        }
        if let Some(org_id) = &order.org_id {
            claims["org_id"] = json!(org_id);
        }
        if let Some(org_name) = &order.org_name {
            claims["org_name"] = json!(org_name);
        }
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}
