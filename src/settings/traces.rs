//! The standard OpenTelemetry variables, read as the SDKs read them, into what the trace exporter
//! takes. Traces are off unless an endpoint is set; a value the SDKs would ignore with a warning
//! is a problem here, reported at start-up with the other settings.
//!
//! - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), else `OTEL_EXPORTER_OTLP_ENDPOINT` with
//!   `/v1/traces` appended;
//! - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
//!   (the default; `grpc` and `http/json` are not built in);
//! - `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else `protected-api`;
//! - `OTEL_TRACES_SAMPLER` (default `parentbased_always_on`) and `OTEL_TRACES_SAMPLER_ARG`;
//! - `OTEL_SDK_DISABLED=true` turns traces off.
//!
//! The exporter itself reads `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT` and the
//! batch processor's `OTEL_BSP_*`.

use url::Url;

use super::problems::Problems;
use crate::telemetry::{TraceExport, TraceSampler};

/// The service name when no variable gives one.
const DEFAULT_SERVICE_NAME: &str = env!("CARGO_PKG_NAME");

/// What the `OTEL_*` variables `lookup` gives say: `None` when traces are off. An empty variable
/// counts as unset, as in the SDKs.
pub(super) fn from_env(lookup: impl Fn(&str) -> Option<String>, problems: &mut Problems) -> Option<TraceExport> {
    let get = |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
    let disabled = match get("OTEL_SDK_DISABLED").map(|value| value.to_ascii_lowercase()).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            problems.add("OTEL_SDK_DISABLED", format!("{other:?} is neither true nor false"));
            false
        }
    };
    let endpoint = match (get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        (Some(traces), _) => Some(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, false)),
        (None, Some(base)) => Some(("OTEL_EXPORTER_OTLP_ENDPOINT", base, true)),
        (None, None) => None,
    };
    let endpoint = endpoint.and_then(|(name, value, append)| match http_url(&value) {
        Ok(url) if append => Some(traces_path(url)),
        Ok(url) => Some(url),
        Err(why) => {
            problems.add(name, format!("{value:?} {why}"));
            None
        }
    });
    let protocol_variable = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]
        .into_iter()
        .find_map(|name| get(name).map(|value| (name, value)));
    if let Some((name, protocol)) = protocol_variable
        && protocol != "http/protobuf"
    {
        let why = if matches!(protocol.as_str(), "grpc" | "http/json") {
            "is not built into this service"
        } else {
            "is not an OTLP protocol"
        };
        problems.add(name, format!("{protocol:?} {why}: use http/protobuf"));
    }
    let sampler = sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"), problems);
    let service_name = get("OTEL_SERVICE_NAME")
        .or_else(|| get("OTEL_RESOURCE_ATTRIBUTES").and_then(|attributes| resource_service_name(&attributes)))
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
    let endpoint = endpoint.filter(|_| !disabled)?;
    Some(TraceExport { endpoint, service_name, sampler: sampler? })
}

fn http_url(value: &str) -> Result<Url, &'static str> {
    let url = Url::parse(value).map_err(|_| "is not a URL")?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("is not an http(s) URL"),
    }
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base: traces go to `v1/traces` under its path.
fn traces_path(mut base: Url) -> Url {
    let path = format!("{}/v1/traces", base.path().trim_end_matches('/'));
    base.set_path(&path);
    base
}

fn sampler(name: Option<String>, arg: Option<String>, problems: &mut Problems) -> Option<TraceSampler> {
    let mut ratio = || match arg.as_deref().map(str::parse::<f64>) {
        None => Some(1.0),
        Some(Ok(ratio)) if (0.0..=1.0).contains(&ratio) => Some(ratio),
        Some(_) => {
            let arg = arg.as_deref().unwrap_or_default();
            problems.add("OTEL_TRACES_SAMPLER_ARG", format!("{arg:?} is not a ratio from 0 to 1"));
            None
        }
    };
    let parent_based = |root: TraceSampler| TraceSampler::ParentBased(Box::new(root));
    match name.as_deref().unwrap_or("parentbased_always_on") {
        "always_on" => Some(TraceSampler::AlwaysOn),
        "always_off" => Some(TraceSampler::AlwaysOff),
        "traceidratio" => ratio().map(TraceSampler::Ratio),
        "parentbased_always_on" => Some(parent_based(TraceSampler::AlwaysOn)),
        "parentbased_always_off" => Some(parent_based(TraceSampler::AlwaysOff)),
        "parentbased_traceidratio" => ratio().map(|ratio| parent_based(TraceSampler::Ratio(ratio))),
        other => {
            problems.add(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "{other:?} is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ),
            );
            None
        }
    }
}

/// `service.name` from `key=value,key=value` resource attributes (values percent-encoded).
fn resource_service_name(attributes: &str) -> Option<String> {
    attributes.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "service.name").then(|| {
            url::form_urlencoded::parse(format!("v={}", value.trim()).as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(variables: &[(&str, &str)]) -> (Option<TraceExport>, Vec<String>) {
        let mut problems = Problems::default();
        let export = from_env(
            |name| variables.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned()),
            &mut problems,
        );
        (export, problems.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn traces_are_off_without_an_endpoint_or_when_the_sdk_is_disabled() {
        assert_eq!(read(&[]), (None, vec![]));
        assert_eq!(read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")]), (None, vec![]));
        let disabled = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("OTEL_SDK_DISABLED", "TRUE")]);
        assert_eq!(disabled, (None, vec![]));
    }

    #[test]
    fn the_endpoints_resolve_as_in_the_sdks() {
        let (export, problems) = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp/")]);
        assert!(problems.is_empty());
        let export = export.unwrap();
        assert_eq!(export.endpoint.as_str(), "http://collector:4318/otlp/v1/traces");
        assert_eq!(export.service_name, "protected-api");
        assert_eq!(export.sampler, TraceSampler::ParentBased(Box::new(TraceSampler::AlwaysOn)));
        let (export, _) = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example/ingest"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=api%20one"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.01"),
        ]);
        let export = export.unwrap();
        assert_eq!(export.endpoint.as_str(), "https://traces.example/ingest");
        assert_eq!(export.service_name, "api one");
        assert_eq!(export.sampler, TraceSampler::ParentBased(Box::new(TraceSampler::Ratio(0.01))));
    }

    #[test]
    fn a_bad_value_is_a_problem_naming_its_variable() {
        let (export, problems) = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_SDK_DISABLED", "maybe"),
        ]);
        assert_eq!(export, None);
        assert_eq!(
            problems,
            [
                r#"OTEL_SDK_DISABLED: "maybe" is neither true nor false"#,
                r#"OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" is not an http(s) URL"#,
                r#"OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not built into this service: use http/protobuf"#,
                r#"OTEL_TRACES_SAMPLER_ARG: "2" is not a ratio from 0 to 1"#,
            ]
        );
        let (_, problems) = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_TRACES_SAMPLER", "xray")]);
        assert!(problems[0].starts_with(r#"OTEL_TRACES_SAMPLER: "xray" is not one of always_on"#), "{problems:?}");
    }
}
