//! A resource server: what a request to a protected operation goes through, whatever the web
//! framework — its credentials (`Authorization: Bearer` or `DPoP` with a proof), the DPoP mode,
//! the token, the proof, the operation's [`Requirement`] — and what a refusal's answer says in
//! its `WWW-Authenticate` challenges.

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, header};

use crate::{
    access_policy::AccessPolicy,
    clock::SharedClock,
    custom::CustomClaims,
    dpop::{DPOP_HEADER, DpopChecker, DpopMode, ProofTarget, proof_header},
    proof_rejection::ProofRejection,
    rejection::{AuthError, InvalidRequest, TokenRejection, quoted},
    requirement::{Access, PathParams, Requirement, RequirementDoc, Scheme},
    resource_metadata::ResourceMetadata,
    verifier::{Verified, Verifier},
};

/// What the resource server reads of a request.
pub struct RequestParts<'a> {
    /// The method the client sent (`HEAD` as `HEAD`, though routers often answer it as `GET`).
    pub method: &'a str,
    /// The request's path, as the client sent it.
    pub path: &'a str,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The path's parameters, as the router matched them.
    pub path_params: &'a dyn PathParams,
}

/// A request that passed every check: its token, verified, and how it was sent.
pub struct Authenticated<C = ()> {
    /// The verified token.
    pub token: Verified<C>,
    /// How the token was sent.
    pub scheme: Scheme,
}

/// The credentials of a request, as its `Authorization` header names them.
enum Credentials<'a> {
    Bearer(&'a str),
    Dpop(&'a str),
}

impl<'a> Credentials<'a> {
    /// The credentials of `headers`: none for an absent header or another scheme.
    fn of(headers: &'a HeaderMap) -> Result<Option<Self>, InvalidRequest> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(InvalidRequest::MultipleAuthorizationHeaders);
        }
        let Ok(text) = value.to_str() else {
            return Ok(None);
        };
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        let token = rest.trim_start_matches(' ');
        let bearer = scheme.eq_ignore_ascii_case("bearer");
        if !bearer && !scheme.eq_ignore_ascii_case("dpop") {
            return Ok(None);
        }
        if token.trim_end().is_empty() {
            return Err(InvalidRequest::EmptyToken);
        }
        Ok(Some(if bearer { Credentials::Bearer(token) } else { Credentials::Dpop(token) }))
    }
}

/// The words of the challenges: the realm, and the link to the RFC 9728 metadata.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeText {
    pub realm: String,
    pub resource_metadata_url: String,
}

/// Checks the requests of protected operations. Built by [`ResourceServer::builder`].
pub struct ResourceServer {
    verifier: Verifier,
    dpop: Option<DpopChecker>,
    challenge: ChallengeText,
    policy: AccessPolicy,
    clock: SharedClock,
}

impl ResourceServer {
    pub(crate) fn new(
        verifier: Verifier,
        dpop: Option<DpopChecker>,
        challenge: ChallengeText,
        policy: AccessPolicy,
        clock: SharedClock,
    ) -> Self {
        ResourceServer { verifier, dpop, challenge, policy, clock }
    }

    /// The values the requirements read: the organizations served, the claims standing for
    /// `acr` and `auth_time`.
    pub fn policy(&self) -> &AccessPolicy {
        &self.policy
    }

    /// The verifier of tokens.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The checker of DPoP proofs; `None` when DPoP is disabled.
    pub fn dpop(&self) -> Option<&DpopChecker> {
        self.dpop.as_ref()
    }

    /// The clock every time rule reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The realm the challenges name.
    pub fn realm(&self) -> &str {
        &self.challenge.realm
    }

    /// Where the RFC 9728 metadata is, as the challenges link it; empty without a public URL.
    pub fn resource_metadata_url(&self) -> &str {
        &self.challenge.resource_metadata_url
    }

    /// Fetches every trusted issuer's keys; failures are logged and retried later.
    pub async fn warm_up(&self) {
        for issuer in self.verifier.issuers() {
            issuer.key_store().warm_up().await;
        }
    }

    /// The request's token, verified with its proof, once the operation's requirement `R` holds;
    /// its custom claims read into `C`.
    pub async fn authenticate<R: Requirement, C: CustomClaims>(
        &self,
        request: &RequestParts<'_>,
    ) -> Result<Authenticated<C>, AuthError> {
        let credentials = Credentials::of(request.headers).map_err(AuthError::InvalidRequest)?;
        let dpop = self.dpop.as_ref().filter(|dpop| dpop.mode() != DpopMode::Disabled);
        let authenticated = match credentials {
            None => return Err(AuthError::MissingCredentials),
            Some(Credentials::Bearer(token)) => {
                if request.headers.contains_key(DPOP_HEADER) {
                    return Err(AuthError::InvalidRequest(InvalidRequest::BearerWithProof));
                }
                if dpop.is_some_and(|dpop| !dpop.mode().accepts_bearer()) {
                    return Err(TokenRejection::BearerRefused.into());
                }
                let token = self.verifier.verify::<C>(token).await?;
                if token.claims().is_bound() {
                    return Err(TokenRejection::BoundTokenAsBearer.into());
                }
                Authenticated { token, scheme: Scheme::Bearer }
            }
            Some(Credentials::Dpop(raw)) => {
                // With DPoP disabled, the scheme is not recognised: no credentials, as for any other.
                let Some(dpop) = dpop else {
                    return Err(AuthError::MissingCredentials);
                };
                let proof = proof_header(request.headers)?.ok_or(ProofRejection::Missing)?;
                let token = self.verifier.verify::<C>(raw).await?;
                if token.claims().confirmation_key().is_none() {
                    return Err(TokenRejection::NotBound.into());
                }
                let target = ProofTarget { method: request.method, path: request.path };
                dpop.check_request(proof, target, raw, token.claims()).await?;
                Authenticated { token, scheme: Scheme::Dpop }
            }
        };
        let access =
            Access::new(authenticated.token.claims(), authenticated.scheme, self.clock.now(), request.path_params)
                .with_policy(&self.policy);
        R::check(&access).map_err(AuthError::Denied)?;
        Ok(authenticated)
    }

    /// The `WWW-Authenticate` challenges of the answer to `error`, one per scheme the operation
    /// accepts (`dpop_only`: the DPoP scheme alone), for a request that used the DPoP scheme or
    /// not: the scheme the request used says what failed (a proof's failure is always the DPoP
    /// challenge's), and a 401's challenges link the resource metadata when the public URL is
    /// known. None for a 503.
    ///
    /// ```
    /// use jwt_resource_server::{AuthError, Issuer, ResourceServer};
    ///
    /// let server = ResourceServer::builder()
    ///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
    ///     .audience("https://api.example.com")
    ///     .public_url("https://api.example.com")
    ///     .build()
    ///     .unwrap();
    /// let error = AuthError::MissingCredentials;
    /// assert_eq!((error.status(), error.code().as_str()), (401, "unauthorized"));
    /// assert_eq!(
    ///     server.challenges(&error, false, false),
    ///     [r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#]
    /// );
    /// ```
    pub fn challenges(&self, error: &AuthError, used_dpop: bool, dpop_only: bool) -> Vec<String> {
        if !error.challenges() {
            return Vec::new();
        }
        let realm = &self.challenge.realm;
        let link = if error.status() == 401 && !self.challenge.resource_metadata_url.is_empty() {
            format!(", resource_metadata=\"{}\"", self.challenge.resource_metadata_url)
        } else {
            String::new()
        };
        let dpop_only = dpop_only || matches!(error, AuthError::Denied(denial) if denial.dpop_only);
        let dpop_algs = self.dpop.as_ref().filter(|dpop| dpop.mode() != DpopMode::Disabled).map(DpopChecker::algs);
        let bearer = !dpop_only && self.dpop.as_ref().is_none_or(|dpop| dpop.mode().accepts_bearer());
        let what_failed = error.challenge_error().map(|params| format!(", {params}"));
        // The challenge that says what failed: the scheme the request used, when it is offered.
        let on_dpop = dpop_algs.is_some() && (error.is_about_the_proof() || used_dpop || !bearer);
        let mut lines = Vec::with_capacity(2);
        if bearer {
            let failed = if on_dpop { "" } else { what_failed.as_deref().unwrap_or_default() };
            lines.push(format!("Bearer realm=\"{realm}\"{failed}{link}"));
        }
        if let Some(algs) = dpop_algs {
            let failed = if on_dpop { what_failed.as_deref().unwrap_or_default() } else { "" };
            lines.push(format!("DPoP realm=\"{realm}\"{failed}, algs=\"{algs}\"{link}"));
        }
        lines
    }

    /// The nonce to send in `DPoP-Nonce` with the answer to a request that used the DPoP scheme,
    /// when nonces are required.
    pub fn nonce_for_answer(&self, used_dpop: bool) -> Option<HeaderValue> {
        let nonces = self.dpop.as_ref().filter(|_| used_dpop)?.nonces()?;
        Some(nonces.current(self.clock.now().unix_seconds()))
    }

    /// The RFC 9728 metadata of this resource, whose operations need `scopes`.
    pub fn resource_metadata<'a>(&self, scopes: impl IntoIterator<Item = &'a str>, name: &str) -> ResourceMetadata {
        let dpop = self.dpop.as_ref().filter(|dpop| dpop.mode() != DpopMode::Disabled);
        ResourceMetadata {
            resource: self.verifier.audience().to_owned(),
            authorization_servers: self.verifier.issuers().iter().map(|issuer| issuer.issuer().to_owned()).collect(),
            scopes_supported: scopes.into_iter().map(str::to_owned).collect(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: name.to_owned(),
            dpop_signing_alg_values_supported: dpop.map(|dpop| dpop.algs().split(' ').map(str::to_owned).collect()),
            dpop_bound_access_tokens_required: dpop.is_some_and(|dpop| !dpop.mode().accepts_bearer()),
        }
    }

    /// Whether a request used the DPoP scheme, by its `Authorization` header.
    pub fn uses_dpop(headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|value| value.as_bytes().get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop ")))
    }
}

/// The scopes `docs` need, each once, in order.
pub fn scopes_of<'a>(docs: impl IntoIterator<Item = &'a RequirementDoc>) -> Vec<&'static str> {
    each_once(docs, |doc| &doc.scopes)
}

/// The authentication contexts (`acr` values) `docs` accept, each once, in order: what an
/// authorization server's sign-in must be able to give.
pub fn acr_values_of<'a>(docs: impl IntoIterator<Item = &'a RequirementDoc>) -> Vec<&'static str> {
    each_once(docs, |doc| &doc.acr_values)
}

/// The values `field` lists in `docs`, each once, in order.
fn each_once<'a>(
    docs: impl IntoIterator<Item = &'a RequirementDoc>,
    field: impl Fn(&RequirementDoc) -> &Vec<&'static str>,
) -> Vec<&'static str> {
    let mut values = Vec::new();
    for doc in docs {
        for value in field(doc) {
            if !values.contains(value) {
                values.push(*value);
            }
        }
    }
    values
}

/// A realm as a challenge may quote it.
pub(crate) fn checked_realm(realm: &str) -> Option<Cow<'_, str>> {
    let quoted = quoted(realm);
    (!quoted.is_empty() && quoted == realm).then_some(Cow::Borrowed(realm))
}
