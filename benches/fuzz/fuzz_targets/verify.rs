//! Fuzzes `Verifier::verify`, the entry point of the token path, with a `jwt-resource-server`
//! resource server built as any application builds one, fed by a JWKS on 127.0.0.1 (one RS256
//! and one ES256 key).
//!
//! An input starting with byte 0 is `0, header bytes, 0xFF, payload bytes`: both are signed with
//! the ES256 key under whatever `alg` the header names, so the header and claims readers see
//! validly signed input. Any other input is taken as the token text itself.
//!
//! Every input must be answered, never panic, and every refusal must be a 401 `invalid_token`
//! whose challenges can be written into a header.
//!
//!     cargo +nightly fuzz run --fuzz-dir benches/fuzz verify benches/fuzz/corpus/verify benches/fuzz/seeds

#![no_main]

use std::sync::{Arc, LazyLock};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, EncodingKey,
    jwk::{Jwk, JwkSet},
};
use jwt_resource_server::{AuthError, Issuer, ResourceServer};
use libfuzzer_sys::fuzz_target;
use poem::{
    EndpointExt, Route, Server, get, handler,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

/// The issuer the seeds name.
const ISSUER: &str = "https://fuzz.example/";
const AUDIENCE: &str = "https://api.example.com";

struct Harness {
    runtime: tokio::runtime::Runtime,
    server: ResourceServer,
    signer: EncodingKey,
}

#[handler]
fn jwks(Data(document): Data<&Arc<String>>) -> String {
    document.to_string()
}

fn key(kid: &str, key: &EncodingKey, alg: Algorithm) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("JWK");
    jwk.common.key_id = Some(kid.into());
    jwk
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let signer = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("../../../tests/fixtures/primary.pem")).unwrap();
    let document = JwkSet { keys: vec![key("ec", &signer, Algorithm::ES256), key("rsa", &rsa, Algorithm::RS256)] };
    let document = Arc::new(serde_json::to_string(&document).unwrap());
    let server = runtime.block_on(async {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        tokio::spawn(Server::new_with_acceptor(acceptor).run(Route::new().at("/jwks", get(jwks)).data(document)));
        let server = ResourceServer::builder()
            .issuer(Issuer::url(ISSUER).jwks_url(format!("http://{address}/jwks")))
            .audience(AUDIENCE)
            .algorithms([Algorithm::RS256, Algorithm::ES256])
            .build()
            .unwrap();
        server.warm_up().await;
        server
    });
    Harness { runtime, server, signer }
});

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    let token = match data.split_first() {
        Some((0, rest)) => {
            let (header, payload) = match rest.iter().position(|byte| *byte == 0xFF) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
            let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &harness.signer, Algorithm::ES256)
                .expect("ES256 signature");
            format!("{signing_input}.{signature}")
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    match harness.runtime.block_on(harness.server.verifier().verify::<()>(&token)) {
        Ok(verified) => assert!(!verified.claims().as_json().get().is_empty()),
        Err(error) => {
            assert!(matches!(error, AuthError::InvalidToken(_)), "{error:?}");
            let challenges = harness.server.challenges(&error, false, false);
            assert!(
                !challenges.is_empty() && challenges.iter().all(|challenge| challenge.is_ascii()),
                "{challenges:?}"
            );
        }
    }
});
