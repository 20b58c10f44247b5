//! What the token path and the DPoP path share about JOSE keys: which aws-lc-rs parameters verify
//! an RSA JWS algorithm, and an RSA public key in the DER form aws-lc-rs parses.

use aws_lc_rs::signature::{self, RsaParameters};
use jsonwebtoken::Algorithm;
use simple_asn1::{ASN1Block, BigInt, BigUint, to_der};

/// aws-lc-rs's parameters for an RSA JWS algorithm (keys of 2048 to 8192 bits); `None` for an
/// algorithm that is not RSA.
pub(crate) fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The DER `RSAPublicKey` (RFC 8017, A.1.1) of modulus `n` and exponent `e` (big-endian bytes).
pub(crate) fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let integer = |bytes: &[u8]| ASN1Block::Integer(0, BigInt::from(BigUint::from_bytes_be(bytes)));
    to_der(&ASN1Block::Sequence(0, vec![integer(n), integer(e)])).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rsa_public_key_is_a_der_sequence_of_two_positive_integers() {
        // Modulus 0x80 0x01 needs a leading zero to stay positive; exponent 65537.
        let der = rsa_public_key_der(&[0x80, 0x01], &[0x01, 0x00, 0x01]);
        assert_eq!(der, [0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01]);
        assert!(rsa_parameters(Algorithm::ES256).is_none());
        assert!(rsa_parameters(Algorithm::PS512).is_some());
    }
}
