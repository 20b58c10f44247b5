//! The client's side of DPoP, for people and scripts without a DPoP library: a P-256 key kept
//! in a PEM file, and the ES256 proofs it signs (RFC 9449 §4.2). The service's `dpop-proof`
//! subcommand prints them, so `curl` can call DPoP routes; the tests and the load benchmark sign
//! theirs with it.
//!
//! ```
//! use dpop_signer::DpopKey;
//!
//! let key = DpopKey::generate().unwrap();
//! let proof = key.proof("GET", "https://api.example.com/api/private", 1_700_000_000, Some("the-token"), None).unwrap();
//! assert_eq!(proof.split('.').count(), 3);
//! assert_eq!(key.thumbprint().len(), 43); // the `cnf.jkt` of tokens bound to this key
//! ```

#![deny(missing_docs)]

use std::{io, path::Path};

use aws_lc_rs::{
    digest::{SHA256, digest},
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::json;

const PEM_LABEL: &str = "PRIVATE KEY";

/// A DPoP signing key.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    /// The public key as the proof's `jwk` header carries it.
    jwk: serde_json::Value,
    rng: SystemRandom,
}

impl DpopKey {
    /// A new random key.
    pub fn generate() -> io::Result<Self> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(io::Error::other)?;
        Ok(Self::from_pair(pair))
    }

    /// The key in the PEM file at `path`; a new one, written there (mode 0600), when the file
    /// does not exist. Says so on standard error.
    pub fn load_or_create(path: &Path) -> io::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_private(path, &key.to_pem()?)?;
                eprintln!("created a DPoP key in {} (jkt {})", path.display(), key.thumbprint());
                Ok(key)
            }
            Err(error) => Err(error),
        }
    }

    fn from_pem(text: &str) -> Result<Self, String> {
        let block = pem::parse(text).map_err(|_| "the key file is not PEM".to_owned())?;
        if block.tag() != PEM_LABEL {
            return Err(format!("the key file holds a {}, not a {PEM_LABEL}", block.tag()));
        }
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, block.contents())
            .map_err(|_| "the key file does not hold a PKCS#8 P-256 private key".to_owned())?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: EcdsaKeyPair) -> Self {
        // An uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        DpopKey { pair, jwk, rng: SystemRandom::new() }
    }

    fn to_pem(&self) -> io::Result<String> {
        let der = self.pair.to_pkcs8v1().map_err(io::Error::other)?;
        Ok(pem::encode(&pem::Pem::new(PEM_LABEL, der.as_ref())))
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it.
    pub fn thumbprint(&self) -> String {
        serde_json::from_value::<Jwk>(self.jwk.clone())
            .ok()
            .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256).ok())
            .unwrap_or_default()
    }

    /// A proof for `method` on `url` made at Unix time `iat`, with a random `jti`, and `ath`
    /// for `access_token` when one is given.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        iat: i64,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> io::Result<String> {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": iat,
        });
        if let Some(token) = access_token {
            claims["ath"] = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())).into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.pair.sign(&self.rng, signing_input.as_bytes()).map_err(io::Error::other)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_key_is_the_same_key() {
        let dir = std::env::temp_dir().join(format!("dpop-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        let created = DpopKey::load_or_create(&path).unwrap();
        let loaded = DpopKey::load_or_create(&path).unwrap();
        assert_eq!(created.thumbprint(), loaded.thumbprint());
        assert_eq!(created.thumbprint().len(), 43);
        std::fs::write(dir.join("other.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap();
        let refused = DpopKey::load_or_create(&dir.join("other.pem")).err().unwrap();
        assert!(refused.to_string().contains("not a PRIVATE KEY"), "{refused}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
