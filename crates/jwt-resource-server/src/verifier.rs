//! Turns a bearer token into verified [`Claims`], or says precisely why not.
//!
//! Order: size limit; a token verified before is answered from the token cache (its `exp` and
//! `nbf` checked again); an encrypted token (JWE) is decrypted (`decryption`) and what follows
//! reads the signed token inside; then structure, the strictly read header (`token_header`) and the
//! strictly read claims (`Claims`), whose `iss` picks the [`TrustedIssuer`] — an issuer not
//! trusted is refused here, before any network call — then that issuer's `alg` allow-list, `crit`
//! and token profile, its key, the signature (RSA keys prepared at fetch time), and its claim
//! rules. The claims are trusted only once the signature verifies.

use std::{any::TypeId, sync::Arc, time::Instant};

use tracing::Instrument;

use aws_lc_rs::signature::ParsedPublicKey;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, AlgorithmFamily, errors::ErrorKind};

use crate::{
    claim_rules::ClaimRules,
    claims::Claims,
    clock::SharedClock,
    custom::{AnyClaims, CustomClaims},
    decryption::DecryptionKeys,
    jwks::KeyStore,
    observer::AuthObserver,
    rejection::{AuthError, JsonProblem, Malformed, TokenPart, TokenRejection, echoed},
    token_cache::{TokenCache, TokenKey, VerifiedToken},
    token_header::{HEADER_ON_STACK, parse_header},
    usage::Usage,
};

/// What a token of one issuer must be, apart from its signature.
#[derive(Debug, Clone)]
pub(crate) struct TokenPolicy {
    /// The accepted signature algorithms (never `none` or HS*).
    pub algorithms: Vec<Algorithm>,
    /// Issuer, audience, time and profile checks.
    pub rules: ClaimRules,
}

/// One trusted issuer: its signing keys and what its tokens must be.
pub struct TrustedIssuer {
    keys: Arc<KeyStore>,
    rules: ClaimRules,
    algorithms: Vec<Algorithm>,
    accepted: String,
}

impl TrustedIssuer {
    /// Tokens of `policy.rules.issuer`, checked as `policy` says against the keys of `keys`.
    pub(crate) fn new(policy: TokenPolicy, keys: Arc<KeyStore>) -> Self {
        let TokenPolicy { algorithms, rules } = policy;
        let accepted = algorithms.iter().map(|alg| format!("{alg:?}")).collect::<Vec<_>>().join(", ");
        TrustedIssuer { keys, rules, algorithms, accepted }
    }

    /// The exact `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.rules.issuer
    }

    /// The (first) audience its tokens carry.
    pub fn audience(&self) -> &str {
        &self.rules.audiences[0]
    }

    /// The audiences its tokens may carry.
    pub fn audiences(&self) -> &[String] {
        &self.rules.audiences
    }

    /// The store of its signing keys.
    pub fn key_store(&self) -> &Arc<KeyStore> {
        &self.keys
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

/// A verified access token: its claims, and the custom claims an operation asked for.
#[derive(Debug)]
pub struct Verified<C = ()> {
    claims: Arc<Claims>,
    custom: Arc<C>,
}

impl<C> Clone for Verified<C> {
    fn clone(&self) -> Self {
        Verified { claims: Arc::clone(&self.claims), custom: Arc::clone(&self.custom) }
    }
}

impl<C> Verified<C> {
    /// The token's claims.
    pub fn claims(&self) -> &Arc<Claims> {
        &self.claims
    }

    /// The token's custom claims, read into `C`.
    pub fn custom(&self) -> &C {
        &self.custom
    }
}

/// Verifies access tokens of the trusted issuers. Built by [`ResourceServerBuilder`](crate::ResourceServerBuilder).
pub struct Verifier {
    issuers: Vec<TrustedIssuer>,
    /// The trusted issuers, for a refusal's description.
    trusted: String,
    max_token_bytes: usize,
    token_cache: Option<Arc<TokenCache>>,
    decryption: DecryptionKeys,
    observer: Arc<dyn AuthObserver>,
    clock: SharedClock,
}

impl Verifier {
    /// A verifier of tokens from `issuers` (at least one) no longer than `max_token_bytes`,
    /// remembering verified tokens in `token_cache`, decrypting encrypted ones with `decryption`, reporting to `observer`, reading `clock`.
    pub(crate) fn new(
        issuers: Vec<TrustedIssuer>,
        max_token_bytes: usize,
        token_cache: Option<Arc<TokenCache>>,
        decryption: DecryptionKeys,
        observer: Arc<dyn AuthObserver>,
        clock: SharedClock,
    ) -> Self {
        let trusted = issuers.iter().map(TrustedIssuer::issuer).collect::<Vec<_>>().join(", ");
        Verifier { issuers, trusted, max_token_bytes, token_cache, decryption, observer, clock }
    }

    /// The trusted issuers, in the order configured.
    pub fn issuers(&self) -> &[TrustedIssuer] {
        &self.issuers
    }

    /// The audience of the first issuer: the resource this API is.
    pub fn audience(&self) -> &str {
        self.issuers[0].audience()
    }

    /// How many tokens the token cache holds and the bytes they hold; `None` without a cache.
    pub fn token_cache_usage(&self) -> Option<Usage> {
        self.token_cache.as_ref().map(|cache| cache.usage())
    }

    /// The clock the verifier reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Verifies `token` and returns its claims, with its custom claims read into `C` (`()`: none).
    ///
    /// ```no_run
    /// use jwt_resource_server::{AuthError, Issuer, ResourceServer};
    ///
    /// # async fn example(token: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let server = ResourceServer::builder()
    ///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
    ///     .audience("https://api.example.com")
    ///     .build()?;
    /// match server.verifier().verify::<()>(token).await {
    ///     Ok(verified) => println!("a token of {:?}", verified.claims().sub()),
    ///     Err(AuthError::InvalidToken(why)) => println!("refused: {why}"),
    ///     Err(other) => println!("cannot check it now: {other}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify<C: CustomClaims>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenRejection::TooLong { limit: self.max_token_bytes }.into());
        }
        let now = self.clock.now();
        let cached = self.token_cache.as_ref().map(|cache| (cache, TokenKey::from(token)));
        if let Some((cache, key)) = &cached
            && let Some(known) = cache.get(key, now)
        {
            let (cache, key) = (*cache, *key);
            self.issuers[known.issuer].rules.check_times(&known.claims, now.unix_seconds())?;
            let custom = match known.custom.as_ref().and_then(AnyClaims::get::<C>) {
                Some(custom) => custom,
                None => {
                    let custom = read_custom::<C>(&known.claims)?;
                    if TypeId::of::<C>() != TypeId::of::<()>() {
                        let kept = AnyClaims::new(Arc::clone(&custom), known.claims.as_json().get().len());
                        cache.insert(key, known.with_custom(kept, now));
                    }
                    custom
                }
            };
            self.observer.verified();
            return Ok(Verified { claims: Arc::clone(&known.claims), custom });
        }
        self.verify_in_full(token, cached).instrument(tracing::debug_span!("verify_token")).await
    }

    /// Verifies a token not in the cache, and remembers it in the cache when there is one.
    async fn verify_in_full<C: CustomClaims>(
        &self,
        token: &str,
        cached: Option<(&Arc<TokenCache>, TokenKey)>,
    ) -> Result<Verified<C>, AuthError> {
        let started = Instant::now();
        let decrypted;
        let token = if DecryptionKeys::is_encrypted(token) {
            decrypted = self.decryption.decrypt(token).map_err(TokenRejection::Encrypted)?;
            decrypted.as_str()
        } else {
            token
        };
        let (mut on_stack, mut on_heap) = ([0_u8; HEADER_ON_STACK], Vec::new());
        let header = parse_header(token, &mut on_stack, &mut on_heap)?;
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenRejection::NotAJwt)?;
        // The claims pick the issuer before any key lookup: a token naming an issuer that is not
        // trusted causes no fetch. They are trusted only once the signature verifies.
        let claims = claims_of(signing_input)?;
        let (index, issuer) = self.issuer_of(&claims)?;
        let alg = issuer.allowed_algorithm(&header.alg)?;
        if header.crit {
            return Err(TokenRejection::CriticalHeader.into());
        }
        issuer.rules.profile.check_type(header.typ.as_deref())?;
        let key = issuer.keys.key_for(header.kid.as_deref(), alg).await?;
        if !key.fits(alg) {
            return Err(TokenRejection::KeyAlgorithmMismatch {
                kid: echoed(&header.kid.unwrap_or_default()),
                alg: echoed(&header.alg),
            }
            .into());
        }
        let signed = match key.prepared(alg) {
            Some(prepared) => verify_prepared(signing_input, signature, prepared)?,
            None => jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key.decoding_key, alg)
                .map_err(|error| rejection_for(error.kind()))?,
        };
        if !signed {
            return Err(TokenRejection::BadSignature.into());
        }
        let now = self.clock.now();
        issuer.rules.check(&claims, now.unix_seconds())?;
        let custom = read_custom::<C>(&claims)?;
        self.observer.verified();
        self.observer.full_check(started.elapsed());
        let claims = Arc::new(claims);
        if let Some((cache, token_key)) = cached {
            let lifetime = cache.lifetime(issuer.rules.remaining_validity(&claims, now.unix_seconds()));
            let kept = (TypeId::of::<C>() != TypeId::of::<()>())
                .then(|| AnyClaims::new(Arc::clone(&custom), claims.as_json().get().len()));
            cache.insert(
                token_key,
                VerifiedToken::new(Arc::clone(&claims), index, key.kid.clone(), kept, now, lifetime),
            );
        }
        Ok(Verified { claims, custom })
    }

    /// The trusted issuer the claims name, with its position.
    fn issuer_of(&self, claims: &Claims) -> Result<(usize, &TrustedIssuer), TokenRejection> {
        let iss = claims.iss().ok_or(TokenRejection::MissingClaim("iss"))?;
        self.issuers
            .iter()
            .enumerate()
            .find(|(_, issuer)| issuer.issuer() == iss)
            .ok_or_else(|| TokenRejection::BadIssuer { expected: self.trusted.clone(), found: echoed(iss) })
    }
}

/// The custom claims of `claims`, read into `C`.
fn read_custom<C: CustomClaims>(claims: &Claims) -> Result<Arc<C>, TokenRejection> {
    AnyClaims::read::<C>(claims.as_json().get())
        .map_err(|error| TokenRejection::Malformed(Malformed::CustomClaims(JsonProblem::from(&error))))
}

/// Whether `signature` signs `signing_input` under a key parsed at fetch time.
fn verify_prepared(signing_input: &str, signature: &str, key: &ParsedPublicKey) -> Result<bool, TokenRejection> {
    let mut signature_bytes = [0_u8; 1024];
    let length = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut signature_bytes)
        .map_err(|_| TokenRejection::Malformed(Malformed::NotBase64(TokenPart::Signature)))?;
    Ok(key.verify_sig(signing_input.as_bytes(), &signature_bytes[..length]).is_ok())
}

/// The claims of a token whose signature verified, kept with their JSON for the response.
fn claims_of(signing_input: &str) -> Result<Claims, TokenRejection> {
    let payload = signing_input.split_once('.').map(|(_, payload)| payload).ok_or(TokenRejection::NotAJwt)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenRejection::Malformed(Malformed::NotBase64(TokenPart::Payload)))?;
    Claims::from_payload(json).map_err(|error| TokenRejection::Malformed(Malformed::Claims(JsonProblem::from(&error))))
}

fn rejection_for(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::Base64(_) => TokenRejection::Malformed(Malformed::NotBase64(TokenPart::Signature)),
        // A signature that cannot be checked with this key at all.
        _ => TokenRejection::BadSignature,
    }
}
