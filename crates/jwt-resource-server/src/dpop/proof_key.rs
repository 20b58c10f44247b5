//! The public key a DPoP proof carries in its `jwk` header: read strictly, checked against the
//! proof's `alg`, used to verify the proof's signature, and named by its RFC 7638 thumbprint —
//! the `jkt` a bound token's `cnf` claim must carry.

use aws_lc_rs::{
    digest::{SHA256, digest},
    signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::{Deserialize, de::IgnoredAny};

use crate::{jose::rsa_parameters, proof_rejection::ProofRejection};

/// The members of a JWK this service reads, and the private ones whose presence refuses it.
#[derive(Debug, Deserialize)]
pub(crate) struct JwkMembers {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
    q: Option<IgnoredAny>,
    dp: Option<IgnoredAny>,
    dq: Option<IgnoredAny>,
    qi: Option<IgnoredAny>,
    oth: Option<IgnoredAny>,
    k: Option<IgnoredAny>,
}

/// A public key fit for one algorithm, with its thumbprint.
pub(crate) struct ProofKey {
    verifier: KeyVerifier,
    digest: [u8; 32],
}

enum KeyVerifier {
    /// An EC or Ed25519 key, parsed once.
    Parsed(ParsedPublicKey),
    /// An RSA key and the padding `alg` names.
    Rsa(RsaPublicKeyComponents<Vec<u8>>, &'static signature::RsaParameters),
}

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

impl ProofKey {
    /// The key `jwk` describes, if it is a public key that can verify `alg`.
    pub(crate) fn from_jwk(jwk: &JwkMembers, alg: Algorithm) -> Result<Self, ProofRejection> {
        let private = [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi, &jwk.oth, &jwk.k];
        if private.iter().any(|member| member.is_some()) {
            return Err(ProofRejection::PrivateKey);
        }
        let unusable = |why: String| ProofRejection::UnusableKey(why);
        let (verifier, thumbprint_input) = match (alg, jwk.kty.as_str()) {
            (Algorithm::ES256 | Algorithm::ES384, "EC") => {
                let (curve, size, algorithm): (_, _, &'static dyn VerificationAlgorithm) = match alg {
                    Algorithm::ES256 => ("P-256", 32, &signature::ECDSA_P256_SHA256_FIXED),
                    _ => ("P-384", 48, &signature::ECDSA_P384_SHA384_FIXED),
                };
                if jwk.crv.as_deref() != Some(curve) {
                    return Err(unusable(format!("{alg:?} needs an EC key on the curve {curve}")));
                }
                let (x, y) = (member(&jwk.x, "x")?, member(&jwk.y, "y")?);
                let (x_bytes, y_bytes) = (decode(x, "x")?, decode(y, "y")?);
                if x_bytes.len() != size || y_bytes.len() != size {
                    return Err(unusable(format!("x and y of a {curve} key have {size} bytes each")));
                }
                let point = [&[4_u8][..], &x_bytes, &y_bytes].concat();
                let key = ParsedPublicKey::new(algorithm, point)
                    .map_err(|_| unusable(format!("x and y are not a point of {curve}")))?;
                let input = format!(r#"{{"crv":"{curve}","kty":"EC","x":"{x}","y":"{y}"}}"#);
                (KeyVerifier::Parsed(key), input)
            }
            (Algorithm::EdDSA, "OKP") => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Err(unusable("EdDSA needs an OKP key on the curve Ed25519".to_owned()));
                }
                let x = member(&jwk.x, "x")?;
                let key = ParsedPublicKey::new(&signature::ED25519, decode(x, "x")?)
                    .map_err(|_| unusable("x is not an Ed25519 public key".to_owned()))?;
                (KeyVerifier::Parsed(key), format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#))
            }
            (
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
                "RSA",
            ) => {
                let (n, e) = (member(&jwk.n, "n")?, member(&jwk.e, "e")?);
                let (n_bytes, e_bytes) = (decode(n, "n")?, decode(e, "e")?);
                let bits = n_bytes.iter().position(|byte| *byte != 0).map_or(0, |at| (n_bytes.len() - at) * 8);
                if bits < MIN_RSA_BITS {
                    return Err(unusable(format!("an RSA key needs a modulus of at least {MIN_RSA_BITS} bits")));
                }
                let parameters =
                    rsa_parameters(alg).ok_or_else(|| unusable(format!("{alg:?} is not an RSA algorithm")))?;
                let components = RsaPublicKeyComponents { n: n_bytes, e: e_bytes };
                (KeyVerifier::Rsa(components, parameters), format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
            }
            (alg, kty) => {
                let kty: String = kty.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
                return Err(unusable(format!("a key of type {kty:?} cannot verify {alg:?}")));
            }
        };
        let mut thumbprint = [0; 32];
        thumbprint.copy_from_slice(digest(&SHA256, thumbprint_input.as_bytes()).as_ref());
        Ok(ProofKey { verifier, digest: thumbprint })
    }

    /// Whether `signature` (as JWS writes it) signs `message` under this key.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.verifier {
            KeyVerifier::Parsed(key) => key.verify_sig(message, signature).is_ok(),
            KeyVerifier::Rsa(components, parameters) => components.verify(parameters, message, signature).is_ok(),
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, as the digest.
    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` names.
    pub(crate) fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.digest)
    }
}

fn member<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ProofRejection> {
    value.as_deref().ok_or_else(|| ProofRejection::UnusableKey(format!("the key has no {name}")))
}

/// A key member's bytes; its text is also the thumbprint's input, so it must be canonical
/// base64url (no padding, no stray bits), which the decoder insists on.
fn decode(text: &str, name: &str) -> Result<Vec<u8>, ProofRejection> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| ProofRejection::UnusableKey(format!("{name} is not base64url")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: &str) -> JwkMembers {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_thumbprint_is_the_one_of_rfc_7638() {
        // RFC 7638 §3.1: the example RSA key and its thumbprint.
        let key = jwk(concat!(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","#,
            r#""e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#
        ));
        let key = ProofKey::from_jwk(&key, Algorithm::RS256).unwrap();
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn private_members_and_mismatched_keys_are_refused() {
        let private = jwk(r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}"#);
        assert_eq!(ProofKey::from_jwk(&private, Algorithm::ES256).err(), Some(ProofRejection::PrivateKey));
        let symmetric = jwk(r#"{"kty":"oct","k":"c2VjcmV0"}"#);
        assert_eq!(ProofKey::from_jwk(&symmetric, Algorithm::ES256).err(), Some(ProofRejection::PrivateKey));
        let wrong_curve = jwk(r#"{"kty":"EC","crv":"P-384","x":"a","y":"b"}"#);
        assert!(matches!(
            ProofKey::from_jwk(&wrong_curve, Algorithm::ES256),
            Err(ProofRejection::UnusableKey(why)) if why.contains("P-256")
        ));
        let off_curve = jwk(&format!(r#"{{"kty":"EC","crv":"P-256","x":"{0}","y":"{0}"}}"#, "A".repeat(43)));
        assert!(matches!(
            ProofKey::from_jwk(&off_curve, Algorithm::ES256),
            Err(ProofRejection::UnusableKey(why)) if why.contains("not a point")
        ));
        let short_rsa = jwk(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#);
        assert!(matches!(
            ProofKey::from_jwk(&short_rsa, Algorithm::RS256),
            Err(ProofRejection::UnusableKey(why)) if why.contains("2048")
        ));
    }
}
