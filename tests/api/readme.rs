//! Every ```console block of README.md is run, as written, against the binary started the way
//! the quick start says (no configuration: the development issuer), and must print what the
//! README shows. In expected output, `…` stands for any text, and a line that is only `…` for
//! any number of lines. `localhost:3000` and `127.0.0.1:3000` stand for the test's address, and
//! `./target/debug/protected-api` for the binary under test; the sessions run in an empty folder.

use std::process::Command;

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

#[test]
fn the_readme_console_sessions_print_what_the_readme_shows() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = console_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no console block");
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
        assert!(output.status.success(), "the README session failed: {}", String::from_utf8_lossy(&output.stderr));
        let outputs: Vec<&str> = stdout.split(&format!("\n{MARK}\n")).skip(1).collect();
        assert_eq!(outputs.len(), steps.len());
        for (step, printed) in steps.iter().zip(outputs) {
            let actual: Vec<&str> = printed.trim_end_matches('\n').lines().collect();
            let actual: Vec<&str> = if actual == [""] { Vec::new() } else { actual };
            let expected: Vec<String> = step.expected.iter().map(|line| localize(line)).collect();
            assert!(
                output_matches(&expected, &actual),
                "$ {}\nprinted:\n{}\nthe README shows:\n{}",
                step.command,
                actual.join("\n"),
                expected.join("\n")
            );
        }
    }
    std::fs::remove_dir_all(&folder).unwrap();
}

/// Every ```rust block of README.md that starts with a `// <path>.rs` line is that file's code:
/// each of its parts (between `// …` lines) appears in the file as written.
#[test]
fn the_rust_snippets_are_the_code_they_name() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut checked = 0;
    for block in readme.split("```rust\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        let Some((path, code)) = block.strip_prefix("// ").and_then(|rest| rest.split_once('\n')) else {
            continue;
        };
        if !path.ends_with(".rs") || path.contains(' ') {
            continue;
        }
        let source = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        for part in code.split("// …\n") {
            assert!(source.contains(part), "README's snippet of {path} is not in the file:\n{part}");
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "the three snippets of `Protect your own route` (one in two parts)");
}
