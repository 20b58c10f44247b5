//! Settings from `settings/` and the environment, and the errors that stop start-up.
// figment's `Jail::expect_with` fixes the closure's error type.
#![allow(clippy::result_large_err)]

use figment::Jail;
use jwt_resource_server::ProviderUrl;
use protected_api::settings::{self, IdentityProvider, NonceMode, Settings};

const DEFAULT_TOML: &str = include_str!("../../settings/default.toml");
const DEV_TOML: &str = include_str!("../../settings/dev.toml");
const PRODUCTION_TOML: &str = include_str!("../../settings/production.toml");

/// Empties the jail's environment and gives it `settings/` with `production` as its production
/// profile.
fn settings_folder(jail: &mut Jail, production: &str) -> figment::error::Result<()> {
    jail.clear_env();
    jail.create_dir("settings")?;
    jail.create_file("settings/default.toml", DEFAULT_TOML)?;
    jail.create_file("settings/dev.toml", DEV_TOML)?;
    jail.create_file("settings/production.toml", production)?;
    Ok(())
}

/// Runs `check` in a jail holding a copy of `settings/` and exactly the variables `env`.
fn with_env(env: &[(&str, &str)], check: impl FnOnce(Result<Settings, String>)) {
    Jail::expect_with(|jail| {
        settings_folder(jail, PRODUCTION_TOML)?;
        for (name, value) in env {
            jail.set_env(name, value);
        }
        check(settings::load().map(|(_, settings)| settings).map_err(|error| error.to_string()));
        Ok(())
    });
}

const VALID: &[(&str, &str)] =
    &[("AUTH0_DOMAIN", "tenant.eu.auth0.com"), ("AUTH0_API_AUDIENCE", "https://api.example.com")];

#[test]
fn auth0_variables_configure_the_issuer_audience_and_algorithms() {
    with_env(VALID, |loaded| {
        let settings = loaded.unwrap();
        assert_eq!(settings.issuer().map(ProviderUrl::as_str), Some("https://tenant.eu.auth0.com/"));
        assert_eq!(settings.auth0.audience.as_deref(), Some("https://api.example.com"));
        assert_eq!(settings.auth0.algorithms, [jsonwebtoken::Algorithm::RS256]);
        assert_eq!(settings.server.listen_address().to_string(), "127.0.0.1:3000");
        assert_eq!(settings.jwks.ttl.as_secs(), 600);
        assert_eq!(settings.jwks.cooldown.as_secs(), 30);
    });
    let env = [
        ("AUTH0_DOMAIN", "https://tenant.eu.auth0.com/"),
        ("AUTH0_ISSUER", "https://login.example.com/"),
        ("AUTH0_API_AUDIENCE", "12345"),
        ("AUTH0_ALGORITHMS", "RS256, PS256"),
        ("AUTH0_CLIENT_SECRET", "ignored"),
        ("HOST", "0.0.0.0"),
        ("PORT", "8080"),
        ("APP_JWKS__TTL", "5m"),
        ("APP_LOG_FORMAT", "json"),
    ];
    with_env(&env, |loaded| {
        let settings = loaded.unwrap();
        assert_eq!(settings.issuer().map(ProviderUrl::as_str), Some("https://login.example.com/"));
        assert_eq!(settings.auth0.audience.as_deref(), Some("12345"));
        assert_eq!(settings.auth0.algorithms, [jsonwebtoken::Algorithm::RS256, jsonwebtoken::Algorithm::PS256]);
        assert_eq!(settings.server.listen_address().to_string(), "0.0.0.0:8080");
        assert_eq!(settings.jwks.ttl.as_secs(), 300);
        assert_eq!(settings.log_format, settings::LogFormat::Json);
    });
}

#[test]
fn the_domain_becomes_an_https_issuer_with_a_trailing_slash() {
    with_env(&[("AUTH0_DOMAIN", "https://tenant.auth0.com/"), ("AUTH0_API_AUDIENCE", "a")], |loaded| {
        assert_eq!(loaded.unwrap().issuer().map(ProviderUrl::as_str), Some("https://tenant.auth0.com/"));
    });
}

fn assert_error(env: &[(&str, &str)], expected: &[&str]) {
    with_env(env, |loaded| {
        let message = loaded.unwrap_err();
        for part in expected {
            assert!(message.contains(part), "{message:?} should contain {part:?}");
        }
    });
}

#[test]
fn production_reports_a_missing_issuer_and_audience_together() {
    assert_error(
        &[("APP_PROFILE", "production")],
        &[
            "2 problems",
            "set AUTH0_DOMAIN",
            "AUTH0_ISSUER",
            "the production profile requires one",
            "set AUTH0_API_AUDIENCE",
        ],
    );
    assert_error(
        &[("APP_PROFILE", "production"), ("APP_DEV_ISSUER__ENABLED", "true")],
        &["the development issuer cannot run in the production profile"],
    );
}

#[test]
fn dev_without_an_issuer_uses_the_development_issuer() {
    with_env(&[], |loaded| {
        let settings = loaded.unwrap();
        assert_eq!(settings.profile, "dev");
        assert_eq!(
            settings.identity_provider,
            IdentityProvider::Development { audience: "https://api.example.com".into() }
        );
    });
    with_env(&[("AUTH0_API_AUDIENCE", "https://mine.example.com")], |loaded| {
        let audience = "https://mine.example.com".to_owned();
        assert_eq!(loaded.unwrap().identity_provider, IdentityProvider::Development { audience });
    });
    with_env(&[("APP_DEV_ISSUER__ENABLED", "false")], |loaded| {
        assert!(loaded.unwrap_err().contains("no issuer is configured: set AUTH0_DOMAIN"));
    });
}

#[test]
fn the_development_issuer_runs_only_on_loopback_unless_allowed() {
    assert_error(
        &[("HOST", "0.0.0.0")],
        &[
            "dev_issuer.allow_non_loopback (env APP_DEV_ISSUER__ALLOW_NON_LOOPBACK): the development issuer would run while server.host is 0.0.0.0",
            "anyone there could mint tokens",
        ],
    );
    assert_error(
        &[("APP_METRICS__ADDRESS", "192.0.2.10:9100")],
        &["the development issuer would run while metrics.address is 192.0.2.10"],
    );
    with_env(&[("HOST", "0.0.0.0"), ("APP_DEV_ISSUER__ALLOW_NON_LOOPBACK", "true")], |loaded| {
        assert!(matches!(loaded.unwrap().identity_provider, IdentityProvider::Development { .. }), "allowed");
    });
    with_env(&[("HOST", "::1"), ("APP_METRICS__ADDRESS", "127.0.0.1:9100")], |loaded| {
        assert!(matches!(loaded.unwrap().identity_provider, IdentityProvider::Development { .. }), "loopback");
    });
    with_env(&[VALID[0], VALID[1], ("HOST", "0.0.0.0")], |loaded| {
        assert!(matches!(loaded.unwrap().identity_provider, IdentityProvider::Configured(_)), "a real issuer");
    });
}

#[test]
fn an_auth0_variable_set_but_empty_is_an_error_never_the_development_issuer() {
    assert_error(
        &[("AUTH0_DOMAIN", ""), ("AUTH0_API_AUDIENCE", "https://api.example.com")],
        &["1 problem", "auth0.domain (env AUTH0_DOMAIN): AUTH0_DOMAIN is set but empty"],
    );
    assert_error(
        &[("APP_PROFILE", "production"), ("AUTH0_ISSUER", " "), ("AUTH0_API_AUDIENCE", "")],
        &[
            "auth0.issuer (env AUTH0_ISSUER): AUTH0_ISSUER is set but empty",
            "auth0.audience (env AUTH0_API_AUDIENCE): AUTH0_API_AUDIENCE is set but empty",
        ],
    );
    with_env(&[("AUTH0_CLIENT_SECRET", "")], |loaded| {
        assert!(loaded.is_ok(), "variables that are not settings are ignored, empty or not");
    });
}

#[test]
fn a_configured_issuer_turns_the_development_issuer_off() {
    with_env(VALID, |loaded| {
        let issuer = ProviderUrl::parse("https://tenant.eu.auth0.com/").unwrap();
        let audience = "https://api.example.com".to_owned();
        let settings = loaded.unwrap();
        let IdentityProvider::Configured(issuers) = &settings.identity_provider else { panic!("configured") };
        assert_eq!(issuers.len(), 1);
        assert_eq!((&issuers[0].issuer, &issuers[0].audience, &issuers[0].jwks_url), (&issuer, &audience, &None));
    });
    with_env(&[("AUTH0_DOMAIN", "tenant.eu.auth0.com")], |loaded| {
        assert!(loaded.unwrap_err().contains("auth0.audience (env AUTH0_API_AUDIENCE): is empty"));
    });
}

#[test]
fn bad_values_name_their_setting_and_variable() {
    let env = [
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ("AUTH0_ALGORITHMS", "RS999"),
        ("PORT", "eighty"),
        ("APP_JWKS__TTL", "soon"),
    ];
    assert_error(
        &env,
        &[
            "3 problems",
            "server.port (env PORT)",
            "auth0.algorithms (env AUTH0_ALGORITHMS): unknown algorithm \"RS999\"",
            "jwks.ttl (env APP_JWKS__TTL): \"soon\" is not a duration",
        ],
    );
}

#[test]
fn symmetric_algorithms_insecure_urls_and_large_leeway_are_refused() {
    let env = [
        ("AUTH0_ISSUER", "http://tenant.example.com/"),
        ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ("AUTH0_ALGORITHMS", "HS256"),
        ("AUTH0_JWKS_URL", "ftp://tenant.example.com/jwks"),
        ("APP_AUTH0__LEEWAY", "5m"),
    ];
    assert_error(
        &env,
        &[
            "4 problems",
            "auth0.issuer (env AUTH0_ISSUER): the issuer \"http://tenant.example.com/\" must use https",
            "auth0.algorithms (env AUTH0_ALGORITHMS): HS256 is a shared-secret algorithm",
            "auth0.jwks_url (env AUTH0_JWKS_URL)",
            "auth0.leeway (env APP_AUTH0__LEEWAY): is above the 60s maximum",
        ],
    );
}

#[test]
fn unknown_settings_and_profiles_are_refused() {
    let mut env = VALID.to_vec();
    env.push(("APP_JWKS__TLL", "5m"));
    assert_error(&env, &["jwks.tll (env APP_JWKS__TLL): unknown field: found `tll`"]);
    let mut env = VALID.to_vec();
    env.push(("APP_PROFILE", "staging"));
    assert_error(&env, &["APP_PROFILE=staging has no file", "use one of dev, production"]);
    let mut env = VALID.to_vec();
    env.push(("APP_SURPRISE", "1"));
    assert_error(&env, &["surprise (env APP_SURPRISE): is not a setting"]);
}

#[test]
fn loopback_issuers_may_use_plain_http() {
    with_env(&[("AUTH0_ISSUER", "http://127.0.0.1:4000/"), ("AUTH0_API_AUDIENCE", "a")], |loaded| {
        assert_eq!(loaded.unwrap().issuer().map(ProviderUrl::as_str), Some("http://127.0.0.1:4000/"));
    });
}

#[test]
fn a_dotenv_file_is_read_without_overriding_the_environment() {
    Jail::expect_with(|jail| {
        settings_folder(jail, PRODUCTION_TOML)?;
        jail.create_file(
            ".env",
            "AUTH0_DOMAIN=from-dotenv.auth0.com\nAUTH0_API_AUDIENCE=https://dotenv.example.com\n",
        )?;
        jail.set_env("AUTH0_API_AUDIENCE", "https://env.example.com");
        let (_, settings) = settings::load().unwrap();
        assert_eq!(settings.issuer().map(ProviderUrl::as_str), Some("https://from-dotenv.auth0.com/"));
        assert_eq!(settings.auth0.audience.as_deref(), Some("https://env.example.com"));
        Ok(())
    });
}

#[test]
fn several_issuers_from_the_environment_or_with_values_of_their_own() {
    let env = [
        ("AUTH0_ISSUERS", "https://login.example.com/, https://tenant.eu.auth0.com/"),
        ("AUTH0_API_AUDIENCE", "https://api.example.com"),
    ];
    with_env(&env, |loaded| {
        let settings = loaded.unwrap();
        let issuers: Vec<&str> = settings.issuers().iter().map(|issuer| issuer.issuer.as_str()).collect();
        assert_eq!(issuers, ["https://login.example.com/", "https://tenant.eu.auth0.com/"]);
        assert!(settings.issuers().iter().all(|issuer| issuer.audience == "https://api.example.com"));
    });
    Jail::expect_with(|jail| {
        settings_folder(
            jail,
            r#"
            log_format = "json"
            [auth0]
            audience = "https://api.example.com"
            issuers = [
                "https://login.example.com/",
                { issuer = "https://other.example.com/realms/a", audience = "https://api.other.com", algorithms = ["ES256"], token_profile = "rfc9068", jwks_url = "https://other.example.com/keys" },
            ]
            "#,
        )?;
        jail.set_env("APP_PROFILE", "production");
        let (_, settings) = settings::load().map_err(|error| error.to_string())?;
        let [first, second] = settings.issuers() else { panic!("two issuers: {:?}", settings.issuers()) };
        assert_eq!(
            (first.audience.as_str(), first.algorithms.as_slice()),
            ("https://api.example.com", &[jsonwebtoken::Algorithm::RS256][..])
        );
        assert_eq!(second.issuer.as_str(), "https://other.example.com/realms/a");
        assert_eq!(second.audience, "https://api.other.com");
        assert_eq!(second.algorithms, [jsonwebtoken::Algorithm::ES256]);
        assert_eq!(second.token_profile, jwt_resource_server::TokenProfile::Rfc9068);
        assert_eq!(second.jwks_url.as_ref().map(ProviderUrl::as_str), Some("https://other.example.com/keys"));
        Ok(())
    });
}

#[test]
fn several_issuers_are_refused_beside_a_domain_twice_or_insecure() {
    assert_error(
        &[
            ("AUTH0_ISSUERS", "https://a.example.com/"),
            ("AUTH0_DOMAIN", "tenant.auth0.com"),
            ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ],
        &[
            "auth0.issuers (env AUTH0_ISSUERS): give either auth0.issuers (AUTH0_ISSUERS) or auth0.domain (AUTH0_DOMAIN), not both",
        ],
    );
    assert_error(
        &[
            ("AUTH0_ISSUERS", "https://a.example.com/,http://b.example.com/,https://a.example.com/"),
            ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ],
        &[
            "2 problems",
            "auth0.issuers (env AUTH0_ISSUERS): the issuer \"http://b.example.com/\" must use https",
            "auth0.issuers (env AUTH0_ISSUERS): the issuer \"https://a.example.com/\" is listed twice",
        ],
    );
}

#[test]
fn dpop_settings_are_read_into_their_types_and_checked() {
    let env = [
        VALID[0],
        VALID[1],
        ("APP_DPOP__MODE", "required"),
        ("APP_DPOP__ALGORITHMS", "ES256,EdDSA"),
        ("APP_DPOP__REPLAY_STORE", "redis://user:secret@redis.internal:6380/2"),
        ("APP_DPOP__MAX_AGE", "2m"),
    ];
    with_env(&env, |loaded| {
        let dpop = loaded.unwrap().dpop;
        assert_eq!(dpop.mode, jwt_resource_server::DpopMode::Required);
        assert_eq!(dpop.algorithms, [jsonwebtoken::Algorithm::ES256, jsonwebtoken::Algorithm::EdDSA]);
        assert_eq!(dpop.max_age, std::time::Duration::from_secs(120));
        let shown = format!("{:?}", dpop.replay_store);
        assert_eq!(shown, "Redis(redis.internal)", "the password never reaches a log");
    });
    assert_error(
        &[VALID[0], VALID[1], ("APP_DPOP__MODE", "sometimes")],
        &["dpop.mode (env APP_DPOP__MODE)", "allowed"],
    );
    let memcached = ("APP_DPOP__REPLAY_STORE", "memcached://cache:11211");
    assert_error(&[VALID[0], VALID[1], memcached], &["dpop.replay_store (env APP_DPOP__REPLAY_STORE): must be"]);
    let env = [
        VALID[0],
        VALID[1],
        ("APP_DPOP__ALGORITHMS", "HS256"),
        ("APP_DPOP__MAX_AGE", "2h"),
        ("APP_DPOP__LEEWAY", "5m"),
        ("APP_DPOP__REPLAY_CAPACITY", "0"),
    ];
    assert_error(
        &env,
        &[
            "4 problems",
            "dpop.algorithms (env APP_DPOP__ALGORITHMS): HS256 is a shared-secret algorithm",
            "dpop.max_age (env APP_DPOP__MAX_AGE): is above the 1h maximum",
            "dpop.leeway (env APP_DPOP__LEEWAY): is above the 60s maximum",
            "dpop.replay_capacity (env APP_DPOP__REPLAY_CAPACITY): must be above 0",
        ],
    );
}

#[test]
fn dpop_nonces_need_a_long_enough_secret_that_never_reaches_a_log() {
    let required = ("APP_DPOP__NONCE", "required");
    let secret = ("APP_DPOP__NONCE_SECRET", "a secret shared by every replica, 48 bytes long");
    with_env(&[VALID[0], VALID[1], required, secret, ("APP_DPOP__NONCE_LIFETIME", "20s")], |loaded| {
        let dpop = loaded.unwrap().dpop;
        assert_eq!(dpop.nonce, NonceMode::Required);
        assert!(dpop.nonce_secret.is_some());
        assert_eq!(dpop.nonce_lifetime, std::time::Duration::from_secs(20));
        assert!(!format!("{dpop:?}").contains("shared by every replica"), "the secret never reaches a log");
    });
    with_env(&[VALID[0], VALID[1], secret], |loaded| {
        assert_eq!(loaded.unwrap().dpop.nonce, NonceMode::Disabled, "disabled")
    });
    assert_error(
        &[VALID[0], VALID[1], required],
        &["dpop.nonce_secret (env APP_DPOP__NONCE_SECRET): is empty", "at least 32 bytes"],
    );
    assert_error(
        &[VALID[0], VALID[1], required, ("APP_DPOP__NONCE_SECRET", "short"), ("APP_DPOP__NONCE_LIFETIME", "1s")],
        &[
            "2 problems",
            "dpop.nonce_secret (env APP_DPOP__NONCE_SECRET): has 5 bytes: use at least 32",
            "dpop.nonce_lifetime (env APP_DPOP__NONCE_LIFETIME): must be at least 2s",
        ],
    );
    assert_error(&[VALID[0], VALID[1], ("APP_DPOP__NONCE", "sometimes")], &["dpop.nonce (env APP_DPOP__NONCE)"]);
}

#[test]
fn the_login_issuer_must_be_a_trusted_one() {
    let issuers = ("AUTH0_ISSUERS", "https://login.example.com/,https://other.eu.auth0.com/");
    let audience = ("AUTH0_API_AUDIENCE", "https://api.example.com");
    let chosen = ("APP_DOCS__LOGIN_ISSUER", "https://other.eu.auth0.com/");
    with_env(&[issuers, audience, chosen, ("APP_DOCS__CLIENT_ID", "spa")], |loaded| {
        let docs = loaded.unwrap().docs;
        assert_eq!(docs.client_id.as_deref(), Some("spa"));
        assert_eq!(docs.login_issuer.as_deref(), Some("https://other.eu.auth0.com/"));
        assert!(docs.persist_authorization, "on by default");
    });
    let stranger = ("APP_DOCS__LOGIN_ISSUER", "https://stranger.example.com/");
    assert_error(
        &[issuers, audience, stranger],
        &["docs.login_issuer (env APP_DOCS__LOGIN_ISSUER)", "is not one of the trusted issuers"],
    );
}

#[test]
fn route_policy_settings_are_read_from_the_environment_and_checked() {
    let not_a_key = std::env::temp_dir().join(format!("not-a-key-{}.pem", std::process::id()));
    std::fs::write(&not_a_key, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let keys = format!(r#"["/nonexistent/a.pem","{}"]"#, not_a_key.display());
    let env = [
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ("APP_AUTH0__ORGANIZATIONS", r#"["org_a", {id="org_a", name="acme"}]"#),
        ("APP_AUTH0__ACR_CLAIMS", r#"[{acr="mfa", claim=""}]"#),
        ("APP_AUTH0__DECRYPTION_KEYS", keys.as_str()),
    ];
    assert_error(
        &env,
        &[
            "4 problems",
            "auth0.organizations (env APP_AUTH0__ORGANIZATIONS): org_a is listed twice",
            "auth0.acr_claims (env APP_AUTH0__ACR_CLAIMS): an entry has an empty acr or claim",
            "auth0.decryption_keys (env APP_AUTH0__DECRYPTION_KEYS): /nonexistent/a.pem: No such file",
            "not a PEM file with one PKCS#8 private key",
        ],
    );
    let _ = std::fs::remove_file(not_a_key);

    let env = [
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_API_AUDIENCE", "https://api.example.com"),
        ("APP_AUTH0__ORGANIZATIONS", r#"["org_a", {id="org_b", name="Acme"}]"#),
        ("APP_AUTH0__ACR_CLAIMS", r#"[{acr="mfa", claim="amr", value="mfa"}]"#),
        ("APP_AUTH0__AUTH_TIME_CLAIM", "https://example.com/auth_time"),
    ];
    with_env(&env, |loaded| {
        let auth0 = loaded.unwrap().auth0;
        let organizations: Vec<_> = auth0.organizations.iter().map(|entry| entry.organization()).collect();
        assert_eq!(organizations[1].org_id(), "org_b");
        assert_eq!(organizations[1].org_name(), Some("Acme"));
        assert_eq!(auth0.acr_claims[0].acr_claim().value(), Some("mfa"));
        assert_eq!(auth0.auth_time_claim.as_deref(), Some("https://example.com/auth_time"));
    });
}
