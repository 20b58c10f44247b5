//! The README and the book (`docs/src/`) say what is true:
//!
//! - every ```console block is run, as written, against the binary started the way the quick
//!   start says (no configuration: the development issuer), and must print what the page shows.
//!   In expected output, `…` stands for any text, and a line that is only `…` for any number of
//!   lines. `localhost:3000` and `127.0.0.1:3000` stand for the test's address, and
//!   `./target/debug/protected-api` for the binary under test; the sessions run in an empty folder;
//! - every ```rust block that names a file is that file's code;
//! - every link to a file of the repository, or to a heading, reaches it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::helpers::Running;

/// One `$ command` and the lines the README shows after it.
struct Step {
    command: String,
    expected: Vec<String>,
}

fn console_blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```console") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(steps), line) => match line.strip_prefix("$ ") {
                Some(command) => steps.push(Step { command: command.to_owned(), expected: Vec::new() }),
                None => steps.last_mut().expect("output before any command").expected.push(line.to_owned()),
            },
            (None, _) => {}
        }
    }
    blocks
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == line;
    }
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "…" => (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..])),
        Some((first, rest)) => {
            !actual.is_empty() && line_matches(first, actual[0]) && output_matches(rest, &actual[1..])
        }
    }
}

#[test]
fn the_wildcards_match_as_documented() {
    assert!(line_matches("{\"exp\":…,\"iat\":…}", "{\"exp\":1,\"iat\":2}"));
    assert!(!line_matches("{\"exp\":…,\"iat\":…}", "{\"exp\":1}"));
    let expected: Vec<String> = ["a", "…", "d"].map(String::from).to_vec();
    assert!(output_matches(&expected, &["a", "b", "c", "d"]));
    assert!(output_matches(&expected, &["a", "d"]));
    assert!(!output_matches(&expected, &["a", "b"]));
}

/// README.md and the book's chapters, with their paths.
fn pages() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join("README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root.join("docs/src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    chapters.sort();
    paths.extend(chapters);
    paths.into_iter().map(|path| (path.clone(), std::fs::read_to_string(path).unwrap())).collect()
}

#[test]
fn the_console_sessions_print_what_the_pages_show() {
    let blocks: Vec<Vec<Step>> = pages().iter().flat_map(|(_, page)| console_blocks(page)).collect();
    assert!(blocks.len() >= 3, "the README and the quick start's sessions are missing");
    let running = Running::start(&[("PORT", "0")]);
    let localize = |text: &str| {
        text.replace("localhost:3000", &running.address)
            .replace("127.0.0.1:3000", &running.address)
            .replace("./target/debug/protected-api", env!("CARGO_BIN_EXE_protected-api"))
    };
    let folder = std::env::temp_dir().join(format!("readme-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    const MARK: &str = "@@readme-step@@";
    for steps in blocks {
        let script: String =
            steps.iter().map(|step| format!("printf '\\n{MARK}\\n'\n{}\n", localize(&step.command))).collect();
        let output =
            Command::new("bash").args(["-euo", "pipefail", "-c", &script]).current_dir(&folder).output().expect("bash");
        let stdout = String::from_utf8(output.stdout).unwrap().replace('\r', "");
        assert!(output.status.success(), "the session failed: {}", String::from_utf8_lossy(&output.stderr));
        let outputs: Vec<&str> = stdout.split(&format!("\n{MARK}\n")).skip(1).collect();
        assert_eq!(outputs.len(), steps.len());
        for (step, printed) in steps.iter().zip(outputs) {
            let actual: Vec<&str> = printed.trim_end_matches('\n').lines().collect();
            let actual: Vec<&str> = if actual == [""] { Vec::new() } else { actual };
            let expected: Vec<String> = step.expected.iter().map(|line| localize(line)).collect();
            assert!(
                output_matches(&expected, &actual),
                "$ {}\nprinted:\n{}\nthe page shows:\n{}",
                step.command,
                actual.join("\n"),
                expected.join("\n")
            );
        }
    }
    std::fs::remove_dir_all(&folder).unwrap();
}

/// Every ```rust block that starts with a `// <path>.rs` line is that file's code: each of its
/// parts (between `// …` lines) appears in the file as written.
#[test]
fn the_rust_snippets_are_the_code_they_name() {
    let mut checked = Vec::new();
    for (page, text) in pages() {
        for block in text.split("```rust\n").skip(1) {
            let block = &block[..block.find("```").unwrap()];
            let Some((path, code)) = block.strip_prefix("// ").and_then(|rest| rest.split_once('\n')) else {
                continue;
            };
            if !path.ends_with(".rs") || path.contains(' ') {
                continue;
            }
            let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
            for part in code.split("// …\n") {
                assert!(source.contains(part), "{}'s snippet of {path} is not in the file:\n{part}", page.display());
            }
            checked.push(path.to_owned());
        }
    }
    for file in [
        "crates/poem-jwt-resource-server/examples/tutorial.rs",
        "crates/poem-jwt-resource-server/examples/custom_claims.rs",
        "src/api/messages.rs",
    ] {
        assert!(checked.iter().any(|path| path == file), "no snippet of {file} was checked: {checked:?}");
    }
}

/// The anchor a Markdown renderer gives a heading (GitHub's and mdBook's rule).
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(page: &str) -> Vec<String> {
    let mut in_code = false;
    let mut found = Vec::new();
    for line in page.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// The targets of the `[text](target)` links of a page, outside code.
fn links(page: &str) -> Vec<String> {
    let mut in_code = false;
    let mut found = Vec::new();
    for line in page.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        for (at, _) in line.match_indices("](") {
            let rest = &line[at + 2..];
            if let Some(end) = rest.find(')') {
                found.push(rest[..end].to_owned());
            }
        }
    }
    found
}

#[test]
fn every_link_to_a_file_or_a_heading_reaches_it() {
    let pages = pages();
    let mut checked = 0;
    for (page, text) in &pages {
        for target in links(text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let path = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            assert!(path.exists(), "{} links to {target}, which does not exist", page.display());
            if !fragment.is_empty() {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    anchors(&text).iter().any(|anchor| anchor == fragment),
                    "{} links to {target}, which has no such heading",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links were checked");
}

#[test]
fn the_anchor_rule_drops_punctuation_and_keeps_hyphens() {
    assert_eq!(anchor(" DPoP: sender-constrained tokens"), "dpop-sender-constrained-tokens");
    assert_eq!(anchor("Protect your own routes"), "protect-your-own-routes");
    assert_eq!(links("see [a](b.md#c) and [`d`](e/)\n```\n[x](y)\n```"), ["b.md#c", "e/"]);
}

#[test]
fn every_chapter_is_in_the_summary() {
    let summary = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/SUMMARY.md")).unwrap();
    for (page, _) in pages().iter().skip(1) {
        let name = page.file_name().unwrap().to_str().unwrap();
        if name != "SUMMARY.md" {
            assert!(summary.contains(&format!("]({name})")), "{name} is not in docs/src/SUMMARY.md");
        }
    }
}
