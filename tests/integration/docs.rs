//! The CLI definition is the single source of the man pages, the shell completions and every flag
//! the docs mention: the generated files are committed and these tests fail when they are stale,
//! and a `--flag` written in README.md or docs/*.md that the CLI does not have fails too.
//!
//! Regenerate with `S3WIRE_UPDATE_DOCS=1 cargo test --test integration docs`.

use clap::CommandFactory;
use clap_complete::Shell;
use s3wire::cli::Cli;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const UPDATE_VAR: &str = "S3WIRE_UPDATE_DOCS";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The clap command as `clap_mangen::generate_to` sees it: built, without the `help` subcommand
/// (it has no page of its own), so subcommands carry their `s3wire-analyze` display names.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every generated file, rendered in memory: (path relative to the repo, contents).
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    man_pages(command(), &mut files);
    for (shell, name) in [
        (Shell::Bash, "s3wire.bash"),
        (Shell::Zsh, "_s3wire"),
        (Shell::Fish, "s3wire.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "s3wire", &mut out);
        files.push((Path::new("docs/completions").join(name), out));
    }
    files
}

/// `docs/s3wire.1` and one `docs/s3wire-<sub>.1` per visible subcommand.
fn man_pages(cmd: clap::Command, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub.clone(), files);
    }
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render(&mut out).expect("render man page into memory");
    files.push((Path::new("docs").join(man.get_filename()), out));
}

/// Writes the files when `S3WIRE_UPDATE_DOCS=1`; otherwise fails on the first stale one.
#[test]
fn generated_man_pages_and_completions_are_current() {
    let update = std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (rel, want) in generated() {
        let path = repo().join(&rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("write {}: {e}", rel.display()));
        } else if std::fs::read(&path).ok().as_deref() != Some(want.as_slice()) {
            stale.push(rel.display().to_string());
        }
    }
    let verb = if stale.len() == 1 { "is" } else { "are" };
    assert!(
        stale.is_empty(),
        "{} {verb} stale: run {UPDATE_VAR}=1 cargo test --test integration docs",
        stale.join(", ")
    );
}

/// The man page names every subcommand, so a new one cannot be left out of the docs folder.
#[test]
fn every_subcommand_has_a_man_page() {
    let names: BTreeSet<String> = generated()
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    for sub in Cli::command().get_subcommands() {
        let page = format!("docs/s3wire-{}.1", sub.get_name());
        assert!(names.contains(&page), "no {page} in {names:?}");
    }
    assert!(names.contains("docs/s3wire.1"));
}

/// Every long flag of every (sub)command, without the leading `--`.
fn cli_flags() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, flags: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            flags.extend(arg.get_long().map(str::to_string));
            if let Some(aliases) = arg.get_all_aliases() {
                flags.extend(aliases.into_iter().map(str::to_string));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, flags);
        }
    }
    let mut flags = BTreeSet::new();
    walk(&command(), &mut flags);
    flags
}

/// Flags of other tools that the docs quote in their own commands. A new one must be listed
/// here on purpose, with its tool, so that a misspelt s3wire flag cannot hide among them.
const FOREIGN_FLAGS: &[(&str, &str)] = &[
    ("release", "cargo build/run"),
    ("all-targets", "cargo clippy"),
    ("no-default-features", "cargo build"),
    ("test", "cargo test"),
    ("lib", "cargo test"),
    ("dev", "cargo add"),
    ("check", "scripts/gen-s3-ops.py"),
    ("scale", "scripts/bench-hostile"),
    ("only", "scripts/bench-hostile"),
    ("top", "scripts/thread-instructions"),
    ("cache", "scripts/thread-instructions"),
    ("runs", "scripts/thread-cpu"),
    ("rounds", "scripts/alternate"),
    ("endpoint-url", "aws cli"),
    ("no-verify-ssl", "aws cli"),
    ("locked", "cargo install, scripts/build-pgo"),
    ("path", "cargo install"),
    ("tls-keylog", "node"),
    ("inject-secrets", "editcap"),
    ("immediate-mode", "tcpdump"),
    ("nocapture", "cargo test"),
    ("s3-endpoint", "rclone"),
    ("no-ssl", "s3cmd"),
];

/// `--name` tokens in Markdown text: `--` at the start of a word, then `[a-z0-9-]`, starting with
/// a letter (so table rules `---` and the `--` separator are not flags).
fn long_flags_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("--").map(|p| p + i) {
        i = at + 2;
        let word_start =
            at == 0 || !matches!(bytes[at - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-');
        if !word_start || !bytes.get(i).is_some_and(u8::is_ascii_lowercase) {
            continue;
        }
        let len = text[i..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(text.len() - i);
        found.push(text[i..i + len].trim_end_matches('-').to_string());
        i += len;
    }
    found
}

fn markdown_docs() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_flag_the_docs_mention_exists_in_the_cli() {
    let known = cli_flags();
    let foreign: BTreeSet<&str> = FOREIGN_FLAGS.iter().map(|(f, _)| *f).collect();
    let mut unknown = Vec::new();
    for path in markdown_docs() {
        let text = std::fs::read_to_string(&path).unwrap();
        for flag in long_flags_in(&text) {
            if !known.contains(&flag) && !foreign.contains(flag.as_str()) {
                let rel = path
                    .strip_prefix(repo())
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                unknown.push(format!("{rel}: --{flag}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "flags in the docs that s3wire does not have (fix the doc, or list a foreign tool's \
         flag in FOREIGN_FLAGS): {unknown:?}"
    );
}

/// Relative link targets in Markdown text: `](path)` or `](path#anchor)`, not URLs.
fn relative_links_in(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .map(|t| t.split_once('#').map_or(t, |(path, _)| path))
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

/// The architecture and guide link to source files; a moved file must not leave a dead link.
#[test]
fn every_relative_link_in_the_docs_exists() {
    let mut dead = Vec::new();
    for path in markdown_docs() {
        let text = std::fs::read_to_string(&path).unwrap();
        let dir = path.parent().unwrap();
        for link in relative_links_in(&text) {
            if !dir.join(link).exists() {
                let rel = path
                    .strip_prefix(repo())
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                dead.push(format!("{rel}: {link}"));
            }
        }
    }
    assert!(dead.is_empty(), "dead links: {dead:?}");
}

#[test]
fn link_scanner_keeps_relative_paths_only() {
    let text = "[a](../src/lib.rs) [b](guide.md#capturing-well) [c](https://x.test/y) [d](#top)";
    assert_eq!(relative_links_in(text), vec!["../src/lib.rs", "guide.md"]);
}

#[test]
fn flag_scanner_finds_flags_and_skips_rules_and_separators() {
    let text = "| --- | x |\nrun -- cmd --no-redact, `--format=json` and a--b; --max-requests.\n";
    assert_eq!(
        long_flags_in(text),
        vec!["no-redact", "format", "max-requests"]
    );
}

#[test]
fn cli_flags_include_subcommand_flags_and_help() {
    let flags = cli_flags();
    for f in [
        "endpoint",
        "no-redact",
        "max-connections",
        "format",
        "help",
        "version",
    ] {
        assert!(flags.contains(f), "--{f} missing from {flags:?}");
    }
    assert!(!flags.contains("no-such-flag"));
}
