use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use dpop_signer::DpopKey;
use jwt_resource_server::{Clock, SystemClock};
use protected_api::{
    api, settings,
    startup::Application,
    telemetry::{self, Traces},
};

const USAGE: &str = "usage: protected-api            run the service (settings: settings/ and the environment)
       protected-api openapi [--yaml]   print the OpenAPI spec
       protected-api healthcheck        exit 0 if the service the same settings describe answers
                                        GET /healthz with 200 within 3 s, else 1 (a container's
                                        HEALTHCHECK, with no shell tools)
       protected-api dpop-proof [--key FILE] [--token TOKEN] [--nonce NONCE] [--count N]
                                [--iat UNIX_TIME] [--per-second N] METHOD URL
                                 print DPoP proofs (one per line) for METHOD on URL, signed by the
                                 P-256 key in FILE (default dpop-key.pem, created if missing);
                                 with --token, bound to that access token (ath); with --nonce,
                                 carrying the service's nonce; made now, or at --iat, and with
                                 --per-second one second later every N proofs (for load runs)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve().await,
        ["openapi"] => {
            println!("{}", api::spec().spec());
            ExitCode::SUCCESS
        }
        ["openapi", "--yaml"] => {
            print!("{}", api::spec().spec_yaml());
            ExitCode::SUCCESS
        }
        ["dpop-proof", rest @ ..] => dpop_proof(rest),
        ["healthcheck"] => healthcheck().await,
        ["-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let (sources, settings) = match settings::load() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    // Held to the end of `serve`: dropping it writes out every buffered log line.
    // The exporter's HTTP client is a blocking one: built, and shut down, off the async workers.
    let traces = match settings.traces.clone() {
        Some(export) => match tokio::task::spawn_blocking(move || Traces::start(&export)).await {
            Ok(Ok(traces)) => Some(traces),
            Ok(Err(error)) => {
                eprintln!("{error}");
                return ExitCode::from(1);
            }
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        },
        None => None,
    };
    let log_writer = telemetry::init(settings.log_format, settings.log_when_full, traces.as_ref());
    if let Some(export) = &settings.traces {
        // The endpoint as logged never shows a user name or password it may carry.
        let mut endpoint = export.endpoint.clone();
        let _ = (endpoint.set_username(""), endpoint.set_password(None));
        tracing::info!(
            %endpoint,
            service_name = %export.service_name,
            sampler = ?export.sampler,
            "traces: OTLP/HTTP to {endpoint}"
        );
    }
    let overrides: Vec<String> = sources.override_files().iter().map(|file| file.display().to_string()).collect();
    tracing::info!(
        overrides = ?overrides,
        "settings: the built-in {} profile{}",
        settings.profile,
        if overrides.is_empty() { String::new() } else { format!(", overridden by {}", overrides.join(", ")) }
    );
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(1);
        }
    };
    if let Some(log_writer) = &log_writer {
        let dropped = application.state().metrics.log_lines_dropped().clone();
        log_writer.count_drops_with(move |lines| {
            dropped.inc_by(lines);
        });
    }
    let address = application.address();
    let server = application.state().guard.server();
    tracing::info!(
        %address,
        issuers = %server.verifier().issuers().iter().map(|issuer| issuer.issuer()).collect::<Vec<_>>().join(", "),
        audience = %server.verifier().audience(),
        "listening on http://{address}/ (Swagger UI at http://{address}/docs)"
    );
    if let Some(dpop) = server.dpop() {
        tracing::info!(
            mode = ?dpop.mode(),
            algs = dpop.algs(),
            replay_store = dpop.replay_store().kind(),
            "DPoP-bound tokens accepted ({:?}); proofs' jti kept in the {} replay store",
            dpop.mode(),
            dpop.replay_store().kind()
        );
    }
    if application.state().docs_login.is_some() {
        tracing::info!(
            "Swagger UI login: redirect URI {}/docs/oauth-receiver.html (add it to the application's Allowed Callback URLs)",
            application.state().public_url
        );
    }
    if let Some(metrics_address) = application.metrics_address() {
        tracing::info!("metrics on http://{metrics_address}/metrics");
    }
    if application.state().dev_issuer.is_some() {
        tracing::warn!("the development issuer is on: tokens from POST /dev/token are accepted");
        if settings.dev_issuer.allow_non_loopback && !address.ip().is_loopback() {
            tracing::warn!(
                "the development issuer is reachable from other hosts (dev_issuer.allow_non_loopback = true): anyone who reaches {address} can mint tokens this service accepts"
            );
        }
        let banner = format!("{}\n", dev_banner(address));
        match &log_writer {
            Some(log_writer) => log_writer.print(&banner),
            None => print!("{banner}"),
        }
    }
    let (code, grace_ends) = match application.run_until_stopped().await {
        Ok(grace_ends) => {
            tracing::info!("stopped");
            (ExitCode::SUCCESS, grace_ends)
        }
        Err(error) => {
            tracing::error!("server error: {error}");
            (ExitCode::from(1), Instant::now() + settings.server.shutdown_timeout)
        }
    };
    // The spans and lines still buffered get what is left of the grace period (at least a
    // moment): a stuck collector or stdout never keeps the process from exiting.
    if let Some(traces) = traces {
        let left = grace_ends.saturating_duration_since(Instant::now()).max(MIN_FLUSH);
        let _ = tokio::task::spawn_blocking(move || traces.shutdown_within(left)).await;
    }
    if let Some(log_writer) = log_writer {
        let left = grace_ends.saturating_duration_since(Instant::now()).max(MIN_FLUSH);
        log_writer.close_within(left);
    }
    code
}

/// The least time the last log lines get to be written at exit.
const MIN_FLUSH: Duration = Duration::from_millis(100);

/// `healthcheck`: asks `/healthz` of the service these settings run.
async fn healthcheck() -> ExitCode {
    let settings = match settings::load() {
        Ok((_, settings)) => settings,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    match protected_api::http::probe::healthz(settings.server.listen_address(), HEALTHCHECK_TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::from(1)
        }
    }
}

/// How long `healthcheck` waits for the answer.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `dpop-proof`: prints proofs.
fn dpop_proof(args: &[&str]) -> ExitCode {
    let mut options = ProofOptions::default();
    let mut positional = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let valid = match (*arg, args.clone().next()) {
            (flag, Some(value)) if flag.starts_with("--") => options.set(flag, value),
            (flag, None) if flag.starts_with("--") => false,
            (value, _) => {
                positional.push(value);
                continue;
            }
        };
        if !valid {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        args.next();
    }
    let [method, url] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let key = match DpopKey::load_or_create(std::path::Path::new(options.key)) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("cannot use the DPoP key {}: {error}", options.key);
            return ExitCode::from(1);
        }
    };
    let first = options.iat.unwrap_or_else(|| SystemClock.now().unix_seconds());
    let mut out = String::new();
    for n in 0..options.count {
        let iat = first + i64::try_from(n / options.per_second).unwrap_or(i64::MAX);
        match key.proof(method, url, iat, options.token, options.nonce) {
            Ok(proof) => {
                out.push_str(&proof);
                out.push('\n');
            }
            Err(error) => {
                eprintln!("cannot sign a proof: {error}");
                return ExitCode::from(1);
            }
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// The options of `dpop-proof`.
struct ProofOptions<'a> {
    key: &'a str,
    token: Option<&'a str>,
    nonce: Option<&'a str>,
    count: usize,
    iat: Option<i64>,
    per_second: usize,
}

impl Default for ProofOptions<'_> {
    fn default() -> Self {
        ProofOptions { key: "dpop-key.pem", token: None, nonce: None, count: 1, iat: None, per_second: usize::MAX }
    }
}

impl<'a> ProofOptions<'a> {
    /// Takes `--flag value`; whether both are valid.
    fn set(&mut self, flag: &str, value: &'a str) -> bool {
        let positive = || value.parse::<usize>().ok().filter(|n| *n > 0);
        match flag {
            "--key" => self.key = value,
            "--token" => self.token = Some(value),
            "--nonce" => self.nonce = Some(value),
            "--count" => match positive() {
                Some(count) => self.count = count,
                None => return false,
            },
            "--per-second" => match positive() {
                Some(per_second) => self.per_second = per_second,
                None => return false,
            },
            "--iat" => match value.parse() {
                Ok(iat) => self.iat = Some(iat),
                Err(_) => return false,
            },
            _ => return false,
        }
        true
    }
}

/// Where to click and what to paste when the development issuer runs.
fn dev_banner(address: std::net::SocketAddr) -> String {
    const BANNER: &str = r#"====================================================================================================
WARNING: the development issuer is on. Its tokens are signed by a key generated at start-up and
are accepted by this process only. Never use it in production: set AUTH0_DOMAIN and
AUTH0_API_AUDIENCE to verify tokens from your Auth0 tenant.

  Swagger UI:   http://ADDRESS/docs  (Authorize → OAuth2 → Authorize → Sign in: no token to copy)
  Get a token:  export TOKEN=$(curl -s http://ADDRESS/dev/token -d scope=read:messages | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  Call the API: curl -s http://ADDRESS/api/private -H "Authorization: Bearer $TOKEN"
===================================================================================================="#;
    BANNER.replace("ADDRESS", &address.to_string())
}
