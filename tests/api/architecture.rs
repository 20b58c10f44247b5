//! The shape of the workspace: the token core (`crates/jwt-resource-server`) knows no web framework,
//! the poem-openapi adapter (`crates/poem-jwt-resource-server`) knows no module of the service, and
//! in the service (`src/`) no two top-level modules use each other, directly or through others.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// The top-level modules each top-level module of `src/` names with `crate::`.
fn module_uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().trim_end_matches(".rs").to_owned())
        .filter(|name| !matches!(name.as_str(), "lib" | "main"))
        .collect();
    let mut uses = BTreeMap::new();
    for module in &modules {
        let mut text = String::new();
        read_sources(&src.join(module), &mut text);
        read_sources(&src.join(format!("{module}.rs")), &mut text);
        let used: BTreeSet<String> = modules
            .iter()
            .filter(|other| *other != module)
            .filter(|other| names_module(&text, other))
            .cloned()
            .collect();
        uses.insert(module.clone(), used);
    }
    uses
}

/// Whether `text` uses `module`: `crate::module` or `crate::{…, module…}`.
fn names_module(text: &str, module: &str) -> bool {
    let is_name_end = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    text.match_indices("crate::").any(|(at, _)| {
        let rest = &text[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find(';').unwrap_or(group.len())];
                group.match_indices(module).any(|(i, _)| {
                    let before = group[..i].trim_end();
                    (before.is_empty() || before.ends_with(',') || before.ends_with('{'))
                        && is_name_end(&group[i + module.len()..])
                })
            }
            None => rest.strip_prefix(module).is_some_and(is_name_end),
        }
    })
}

fn read_sources(path: &Path, text: &mut String) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            read_sources(&entry.path(), text);
        }
    } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
        text.push_str(&std::fs::read_to_string(path).unwrap());
    }
}

/// The Rust sources and the manifest of the workspace crate in `crates/{name}`, as one text each.
fn crate_text(name: &str) -> (String, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates").join(name);
    let mut sources = String::new();
    read_sources(&dir.join("src"), &mut sources);
    read_sources(&dir.join("examples"), &mut sources);
    assert!(!sources.is_empty(), "crates/{name} has sources");
    (sources, std::fs::read_to_string(dir.join("Cargo.toml")).unwrap())
}

/// Whether `text` names the crate `name` as a path (`name::`), outside comments.
fn names_crate(text: &str, name: &str) -> bool {
    text.lines().map(|line| line.split("//").next().unwrap_or_default()).any(|code| {
        code.match_indices(&format!("{name}::"))
            .any(|(at, _)| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'))
    })
}

/// Whether the manifest `manifest` depends on the crate `name`.
fn depends_on(manifest: &str, name: &str) -> bool {
    manifest.lines().any(|line| {
        line.trim_start().starts_with(&format!("{name} ")) || line.trim_start().starts_with(&format!("{name}="))
    })
}

#[test]
fn the_core_knows_no_web_framework() {
    let (sources, manifest) = crate_text("jwt-resource-server");
    for framework in ["poem", "poem_openapi", "axum", "actix_web", "warp", "hyper", "tower", "rocket", "salvo"] {
        assert!(!names_crate(&sources, framework), "the core uses {framework}");
        assert!(!depends_on(&manifest, &framework.replace('_', "-")), "the core depends on {framework}");
    }
}

#[test]
fn the_adapter_knows_no_module_of_the_service() {
    let (sources, manifest) = crate_text("poem-jwt-resource-server");
    assert!(!names_crate(&sources, "protected_api"), "the adapter uses the service");
    assert!(!depends_on(&manifest, "protected-api"), "the adapter depends on the service");
    for crate_name in ["jwt-resource-server", "poem-jwt-resource-server", "dpop-signer"] {
        let (sources, _) = crate_text(crate_name);
        assert!(!sources.contains("#[doc(hidden)]"), "{crate_name} hides a public item from its docs");
    }
}

#[test]
fn the_service_reaches_the_token_checks_through_the_crates_only() {
    let uses = module_uses();
    assert!(!uses.contains_key("auth"), "src/auth left the service: {:?}", uses.keys());
    let mut service = String::new();
    read_sources(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"), &mut service);
    assert!(names_crate(&service, "jwt_resource_server") && names_crate(&service, "poem_jwt_resource_server"));
}

#[test]
fn no_two_modules_use_each_other() {
    let uses = module_uses();
    fn reaches(uses: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        uses[from].iter().any(|next| next == to || (seen.insert(next.clone()) && reaches(uses, next, to, seen)))
    }
    for module in uses.keys() {
        assert!(!reaches(&uses, module, module, &mut BTreeSet::new()), "{module} uses itself through {uses:?}");
    }
}

#[test]
fn the_check_sees_the_forms_of_use() {
    assert!(names_module("use crate::settings::Settings;", "settings"));
    assert!(names_module("use crate::{\n    api,\n    auth::{X, Y},\n};", "auth"));
    assert!(names_module("use crate::{auth::Refusal, http::RouteTable};", "http"));
    assert!(!names_module("use crate::{auth::Refusal};", "http"));
    assert!(!names_module("crate::authority::X", "auth"));
    assert!(!names_module("use crate::{auth::{Verifier, metrics_thing}};", "metrics"));
    assert!(names_crate("use poem::{Endpoint};", "poem"));
    assert!(names_crate("    let x = poem::Request::default();", "poem"));
    assert!(!names_crate("use poem_openapi::OpenApi;", "poem"));
    assert!(!names_crate("// poem::Request in a comment", "poem"));
    assert!(!names_crate("use my_poem::X;", "poem"));
    assert!(depends_on("[dependencies]\npoem = \"3\"\n", "poem") && !depends_on("poem-openapi = \"5\"", "poem"));
}
