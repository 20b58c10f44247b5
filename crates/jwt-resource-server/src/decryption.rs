//! Encrypted access tokens (JWE, RFC 7516), as Auth0's Highly Regulated Identity and panva's
//! oidc-provider issue them: a compact JWE, `alg` `RSA-OAEP-256` and `enc` `A256GCM`, whose
//! plaintext is the signed JWT (`cty` `JWT` or `at+jwt`). The verifier decrypts it, then checks
//! the inner token as any other; the token cache holds the JWE, so a reused token is not
//! decrypted again.
//!
//! Refused with `invalid_token`, before any RSA operation when the header says so: a JWE when no
//! key is configured, another `alg` or `enc` (`RSA1_5`, `dir`, `A128GCM`, …), compression, a
//! `crit` header, a `cty` that is not a JWT, a `kid` no key has; then a JWE that does not
//! decrypt (one answer for a wrong key and a forged tag). A JWE without `kid` is tried with the
//! two newest keys at most, so one forged token costs at most two RSA decryptions.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
    rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::rejection::{JsonProblem, echoed};

/// The smallest RSA key accepted, in bits.
const MIN_KEY_BITS: usize = 2048;

/// The most keys a JWE without `kid` is tried with.
const KEYS_TRIED_WITHOUT_KID: usize = 2;

/// An RSA private key that encrypted access tokens are encrypted to.
pub struct DecryptionKey {
    kid: Option<String>,
    key: OaepPrivateDecryptingKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey").field("kid", &self.kid).field("bits", &self.key.key_size_bits()).finish()
    }
}

/// Why a decryption key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptionKeyError {
    /// Not PEM, or not one `PRIVATE KEY` block.
    #[error("not a PEM file with one PKCS#8 private key (-----BEGIN PRIVATE KEY-----)")]
    NotPem,
    /// Not an RSA private key in PKCS#8.
    #[error("not an RSA private key in PKCS#8")]
    NotRsa,
    /// An RSA key shorter than 2048 bits.
    #[error("an RSA key of {0} bits: use at least 2048")]
    TooShort(usize),
}

impl DecryptionKey {
    /// The RSA key in a PEM `PRIVATE KEY` (PKCS#8) block, as `openssl genpkey -algorithm RSA`
    /// writes it.
    pub fn from_pem(pem: &str) -> Result<Self, DecryptionKeyError> {
        let block = pem::parse(pem).map_err(|_| DecryptionKeyError::NotPem)?;
        if block.tag() != "PRIVATE KEY" {
            return Err(DecryptionKeyError::NotPem);
        }
        Self::from_pkcs8_der(block.contents())
    }

    /// The RSA key in PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, DecryptionKeyError> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| DecryptionKeyError::NotRsa)?;
        if key.key_size_bits() < MIN_KEY_BITS {
            return Err(DecryptionKeyError::TooShort(key.key_size_bits()));
        }
        let key = OaepPrivateDecryptingKey::new(key).map_err(|_| DecryptionKeyError::NotRsa)?;
        Ok(DecryptionKey { kid: None, key })
    }

    /// The same key, chosen for a JWE whose header names `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The `kid` it is chosen by, when it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The content encryption key in `encrypted_key`, when it was encrypted to this key.
    fn unwrap_key(&self, encrypted_key: &[u8]) -> Option<[u8; 32]> {
        if encrypted_key.len() != self.key.key_size_bytes() {
            return None;
        }
        let mut out = vec![0_u8; self.key.min_output_size()];
        let cek = self.key.decrypt(&OAEP_SHA256_MGF1SHA256, encrypted_key, &mut out, None).ok()?;
        <[u8; 32]>::try_from(&*cek).ok()
    }
}

/// Why an encrypted token was refused. The texts never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweRejection {
    /// The API has no decryption key.
    #[error(
        "the token is encrypted (JWE) and this API has no key to decrypt it: request it with the audience parameter of this API (Auth0 encrypts the tokens it issues without one)"
    )]
    NoKeys,
    /// The JOSE header cannot be read.
    #[error("the encrypted token's header is not valid: {0}")]
    Header(JsonProblem),
    /// Another key management or content encryption algorithm.
    #[error("the token is encrypted with alg {alg} and enc {enc}: this API accepts RSA-OAEP-256 with A256GCM{}", if alg == "dir" { " (Auth0 encrypts tokens with dir when they are issued without the audience parameter of this API)" } else { "" })]
    Algorithm {
        /// The header's `alg`.
        alg: String,
        /// The header's `enc`.
        enc: String,
    },
    /// Compressed plaintext (`zip`).
    #[error("the encrypted token is compressed (zip), which this API does not accept")]
    Compressed,
    /// A `crit` header.
    #[error("the encrypted token has a crit header, which this API does not support")]
    CriticalHeader,
    /// The plaintext is not said to be a JWT.
    #[error("the encrypted token's cty is {}: it must wrap a signed JWT (cty JWT or at+jwt)", cty.as_deref().unwrap_or("absent"))]
    ContentType {
        /// The header's `cty`.
        cty: Option<String>,
    },
    /// No key has the header's `kid`.
    #[error("the token is encrypted to the key kid={kid}, which this API does not have")]
    UnknownKid {
        /// The header's `kid`.
        kid: String,
    },
    /// A part is not base64url, or the IV or tag has the wrong length.
    #[error("the encrypted token is malformed: its {0} is not valid")]
    Malformed(&'static str),
    /// It does not decrypt with the API's keys: another key, or altered.
    #[error("the encrypted token cannot be decrypted with this API's keys")]
    Undecryptable,
}

/// The JOSE header of a JWE, as far as it is read.
#[derive(Deserialize)]
struct JweHeader {
    alg: String,
    enc: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    cty: Option<String>,
    #[serde(default)]
    zip: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The decryption keys of an API, newest first.
#[derive(Debug, Default)]
pub(crate) struct DecryptionKeys {
    keys: Vec<DecryptionKey>,
}

impl DecryptionKeys {
    pub fn new(keys: Vec<DecryptionKey>) -> Self {
        DecryptionKeys { keys }
    }

    /// Whether `token` has the five parts of a compact JWE.
    pub fn is_encrypted(token: &str) -> bool {
        token.bytes().filter(|byte| *byte == b'.').count() == 4
    }

    /// The signed token a compact JWE holds.
    pub fn decrypt(&self, token: &str) -> Result<String, JweRejection> {
        if self.keys.is_empty() {
            return Err(JweRejection::NoKeys);
        }
        let mut parts = token.split('.');
        let mut part = || parts.next().unwrap_or_default();
        let (protected, encrypted_key, iv, ciphertext, tag) = (part(), part(), part(), part(), part());
        let header_json = URL_SAFE_NO_PAD.decode(protected).map_err(|_| JweRejection::Malformed("protected header"))?;
        let header: JweHeader =
            serde_json::from_slice(&header_json).map_err(|error| JweRejection::Header(JsonProblem::from(&error)))?;
        if header.alg != "RSA-OAEP-256" || header.enc != "A256GCM" {
            let safe = |text: &str| {
                text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+')).take(24).collect()
            };
            return Err(JweRejection::Algorithm { alg: safe(&header.alg), enc: safe(&header.enc) });
        }
        if header.zip.is_some() {
            return Err(JweRejection::Compressed);
        }
        if header.crit.is_some() {
            return Err(JweRejection::CriticalHeader);
        }
        let wraps_jwt = header.cty.as_deref().is_some_and(|cty| {
            let cty = cty.strip_prefix("application/").unwrap_or(cty);
            cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("at+jwt")
        });
        if !wraps_jwt {
            return Err(JweRejection::ContentType { cty: header.cty.as_deref().map(echoed) });
        }
        let candidates: Vec<&DecryptionKey> = match &header.kid {
            Some(kid) => {
                let key = self.keys.iter().find(|key| key.kid.as_deref() == Some(kid.as_str()));
                vec![key.ok_or_else(|| JweRejection::UnknownKid { kid: echoed(kid) })?]
            }
            None => self.keys.iter().take(KEYS_TRIED_WITHOUT_KID).collect(),
        };
        let decode = |part: &str, what| URL_SAFE_NO_PAD.decode(part).map_err(|_| JweRejection::Malformed(what));
        let encrypted_key = decode(encrypted_key, "encrypted key")?;
        let iv = decode(iv, "initialization vector")?;
        let tag = decode(tag, "authentication tag")?;
        if tag.len() != 16 {
            return Err(JweRejection::Malformed("authentication tag"));
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&iv).map_err(|_| JweRejection::Malformed("initialization vector"))?;
        let cek =
            candidates.iter().find_map(|key| key.unwrap_key(&encrypted_key)).ok_or(JweRejection::Undecryptable)?;
        let mut in_out = decode(ciphertext, "ciphertext")?;
        in_out.extend_from_slice(&tag);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).map_err(|_| JweRejection::Undecryptable)?);
        let plaintext = key
            .open_in_place(nonce, Aad::from(protected.as_bytes()), &mut in_out)
            .map_err(|_| JweRejection::Undecryptable)?;
        let length = plaintext.len();
        in_out.truncate(length);
        String::from_utf8(in_out).map_err(|_| JweRejection::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::{
        aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
        encoding::AsDer,
        rsa::{KeySize, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PrivateDecryptingKey},
    };
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

    fn key_pair() -> (DecryptionKey, PrivateDecryptingKey) {
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let der = private.as_der().unwrap();
        (DecryptionKey::from_pkcs8_der(der.as_ref()).unwrap(), private)
    }

    /// A compact JWE of `plaintext` to `to`, with the header `header`.
    fn encrypt(to: &PrivateDecryptingKey, header: &str, plaintext: &str) -> String {
        let protected = URL_SAFE_NO_PAD.encode(header);
        let cek = [7_u8; 32];
        let public = OaepPublicEncryptingKey::new(to.public_key()).unwrap();
        let mut wrapped = vec![0; public.ciphertext_size()];
        let wrapped = public.encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut wrapped, None).unwrap().to_vec();
        let iv = [9_u8; 12];
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).unwrap());
        let mut body = plaintext.as_bytes().to_vec();
        let nonce = Nonce::try_assume_unique_for_key(&iv).unwrap();
        let tag = key.seal_in_place_separate_tag(nonce, Aad::from(protected.as_bytes()), &mut body).unwrap();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        format!("{protected}.{}.{}.{}.{}", b64(&wrapped), b64(&iv), b64(&body), b64(tag.as_ref()))
    }

    const PLAIN: &str = r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}"#;

    #[test]
    fn a_jwe_decrypts_with_its_kid_or_one_of_the_two_newest_keys() {
        let (newest, newest_private) = key_pair();
        let (older, older_private) = key_pair();
        let (oldest, oldest_private) = key_pair();
        let keys = DecryptionKeys::new(vec![newest.with_kid("a"), older.with_kid("b"), oldest.with_kid("c")]);
        let jwe = encrypt(&older_private, PLAIN, "x.y.z");
        assert!(DecryptionKeys::is_encrypted(&jwe));
        assert_eq!(keys.decrypt(&jwe).unwrap(), "x.y.z");
        assert_eq!(keys.decrypt(&encrypt(&newest_private, PLAIN, "n.n.n")).unwrap(), "n.n.n");
        // The third key is tried only when the JWE names it.
        assert_eq!(keys.decrypt(&encrypt(&oldest_private, PLAIN, "o.o.o")), Err(JweRejection::Undecryptable));
        let named = r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"at+jwt","kid":"c"}"#;
        assert_eq!(keys.decrypt(&encrypt(&oldest_private, named, "o.o.o")).unwrap(), "o.o.o");
        let unknown = r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT","kid":"z"}"#;
        assert_eq!(
            keys.decrypt(&encrypt(&oldest_private, unknown, "o.o.o")),
            Err(JweRejection::UnknownKid { kid: "z".into() })
        );
    }

    #[test]
    fn the_header_is_refused_before_any_decryption() {
        let (key, private) = key_pair();
        let keys = DecryptionKeys::new(vec![key]);
        let refused = |header: &str| keys.decrypt(&encrypt(&private, header, "x.y.z")).unwrap_err().to_string();
        assert!(refused(r#"{"alg":"RSA1_5","enc":"A256GCM","cty":"JWT"}"#).contains("alg RSA1_5 and enc A256GCM"));
        assert!(refused(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#).contains("cty is absent"));
        assert!(refused(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT","zip":"DEF"}"#).contains("compressed"));
        assert!(refused(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT","crit":["b64"]}"#).contains("crit"));
        assert!(refused(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT","alg":"dir"}"#).contains("not valid"));
        let mut tampered = encrypt(&private, PLAIN, "x.y.z");
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'Q' } else { 'A' });
        assert_eq!(keys.decrypt(&tampered), Err(JweRejection::Undecryptable));
        assert_eq!(DecryptionKeys::default().decrypt(&tampered), Err(JweRejection::NoKeys));
    }
}
