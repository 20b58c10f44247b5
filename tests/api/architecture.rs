//! The shape of `src/`: which top-level module may use which. `auth` uses no other module of
//! the service (its callers build it from plain values), and no two top-level modules use each
//! other, directly or through others.

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

#[test]
fn auth_uses_no_other_module() {
    let uses = module_uses();
    assert_eq!(uses["auth"], BTreeSet::new(), "auth is built from plain values by startup");
    assert!(uses["settings"].contains("auth"), "the settings build auth's values: {:?}", uses["settings"]);
    assert!(uses["metrics"].contains("auth"), "the metrics count auth's events: {:?}", uses["metrics"]);
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
}
