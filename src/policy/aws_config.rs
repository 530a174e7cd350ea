//! The S3 endpoint URL the AWS SDKs would use, from the environment and the shared config file,
//! resolved as botocore does (`botocore.configprovider.ConfiguredEndpointProvider`, and the AWS
//! SDKs and Tools Reference Guide, "Service-specific endpoints"). Pure: the caller passes the
//! environment and the config file's text.
//!
//! Precedence, first hit wins (an empty value counts as unset, like botocore's `if endpoint_url`):
//! 1. `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (env; when set, its value decides) else the profile's
//!    `ignore_configured_endpoint_urls`: `true` (any case) disables everything below.
//! 2. `AWS_ENDPOINT_URL_S3`
//! 3. `AWS_ENDPOINT_URL`
//! 4. the profile's `services = NAME` → `[services NAME]` → `s3 =` block → `endpoint_url`
//!    (a `services` name without its section is an error, as in botocore)
//! 5. the profile's own `endpoint_url`
//!
//! The profile is `--profile`, else `AWS_DEFAULT_PROFILE`, else `AWS_PROFILE` (botocore checks
//! them in that order), else `default`. Sections: `[default]` (or `[profile default]`),
//! `[profile NAME]`, `[services NAME]`; a later section of the same profile replaces an earlier.

use super::endpoints::{Endpoint, EndpointError, Origin};
use super::ini::{Ini, IniError, Section, parse_nested};
use std::collections::HashMap;

/// Why the configuration cannot be resolved (the SDK would fail too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot parse {path}: {source}")]
    Parse { path: String, source: IniError },
    #[error("cannot parse {path}: [{section}] `{option}` block has a line without `=`: `{line}`")]
    Nested {
        path: String,
        section: String,
        option: String,
        line: String,
    },
    #[error("{path}: [{section}] `{option}` must be a block of indented `key = value` lines")]
    NotABlock {
        path: String,
        section: String,
        option: String,
    },
    #[error(
        "{path}: profile `{profile}` sets `services = {name}` but there is no [services {name}] section"
    )]
    MissingServices {
        path: String,
        profile: String,
        name: String,
    },
    #[error("{detail}: {source}")]
    Endpoint {
        detail: String,
        source: EndpointError,
    },
}

/// The outcome, with what a reader needs to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The endpoint S3 clients would use (at most one: the first hit of the precedence).
    pub endpoints: Vec<Endpoint>,
    /// The profile used, and what chose it (`--profile`, `AWS_PROFILE`, `default`).
    pub profile: String,
    pub profile_source: String,
    /// Things worth telling: ignored endpoints, shadowed settings, a profile not in the file.
    pub notes: Vec<String>,
}

/// The configured S3 endpoints, as [`resolve_detailed`] without the notes.
pub fn resolve(
    env: &HashMap<String, String>,
    config_text: Option<&str>,
    config_path_label: &str,
    profile_flag: Option<&str>,
) -> Result<Vec<Endpoint>, ConfigError> {
    resolve_detailed(env, config_text, config_path_label, profile_flag).map(|r| r.endpoints)
}

/// The configured S3 endpoints: `env` is the process environment, `config_text` the shared config
/// file's contents (None when it does not exist), `config_path_label` how to name that file in
/// details and errors (e.g. `~/.aws/config`), `profile_flag` the `--profile` value.
pub fn resolve_detailed(
    env: &HashMap<String, String>,
    config_text: Option<&str>,
    config_path_label: &str,
    profile_flag: Option<&str>,
) -> Result<Resolution, ConfigError> {
    let path = config_path_label;
    let ini = match config_text {
        Some(t) => Ini::parse(t).map_err(|source| ConfigError::Parse {
            path: path.to_string(),
            source,
        })?,
        None => Ini::default(),
    };
    let files = Files::new(&ini);
    let (profile, profile_source) = choose_profile(env, profile_flag);
    let mut res = Resolution {
        endpoints: Vec::new(),
        profile: profile.clone(),
        profile_source: profile_source.clone(),
        notes: Vec::new(),
    };
    let scoped = files.profiles.get(profile.as_str()).copied();
    if scoped.is_none() && config_text.is_some() && profile_source != "default" {
        res.notes.push(format!(
            "profile `{profile}` ({profile_source}) is not in {path}; only the environment applies"
        ));
    }
    let prof = ProfileCtx {
        ini: &ini,
        files: &files,
        section: scoped,
        name: &profile,
        source: &profile_source,
        path,
    };
    if let Some(why) = ignored(env, prof.get("ignore_configured_endpoint_urls")) {
        res.notes
            .push(format!("{why}: configured endpoint URLs are ignored"));
        return Ok(res);
    }
    let candidates = candidates(env, &prof)?;
    let mut hits = candidates.into_iter();
    if let Some((url, origin, detail)) = hits.next() {
        let e = Endpoint::parse(&url, origin, &detail)
            .map_err(|source| ConfigError::Endpoint { detail, source })?;
        res.endpoints.push(e);
    }
    for (url, _, detail) in hits {
        res.notes.push(format!(
            "{detail} = {url} is overridden by a higher-precedence setting"
        ));
    }
    Ok(res)
}

/// The config file split into profiles and services sections, as `build_profile_map` does.
struct Files<'a> {
    profiles: HashMap<String, &'a Section>,
    services: HashMap<String, &'a Section>,
}

impl<'a> Files<'a> {
    fn new(ini: &'a Ini) -> Files<'a> {
        let mut f = Files {
            profiles: HashMap::new(),
            services: HashMap::new(),
        };
        for s in &ini.sections {
            if s.name.starts_with("profile") {
                if let Some(name) = second_word(&s.name) {
                    f.profiles.insert(name, s);
                }
            } else if s.name.starts_with("services") {
                if let Some(name) = second_word(&s.name) {
                    f.services.insert(name, s);
                }
            } else if s.name == "default" {
                f.profiles.insert("default".into(), s);
            }
        }
        f
    }
}

/// `profile dev` → `dev`, `profile "my dev"` → `my dev` (shlex-style split; exactly two words,
/// else the section is not a profile — botocore's `_parse_section`).
fn second_word(header: &str) -> Option<String> {
    let words = shlex_split(header)?;
    match words.as_slice() {
        [_, name] => Some(name.clone()),
        _ => None,
    }
}

/// A small `shlex.split`: whitespace-separated words, `'…'` and `"…"` quoting, backslash escapes
/// outside single quotes. None on an unterminated quote (Python raises ValueError).
fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(cur.take()),
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        c => w.push(c),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).push(chars.next()?),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Some(words)
}

/// `--profile` > `AWS_DEFAULT_PROFILE` > `AWS_PROFILE` > `default`; empty values are unset.
fn choose_profile(env: &HashMap<String, String>, flag: Option<&str>) -> (String, String) {
    if let Some(p) = flag.filter(|p| !p.is_empty()) {
        return (p.to_string(), "--profile".into());
    }
    for var in ["AWS_DEFAULT_PROFILE", "AWS_PROFILE"] {
        if let Some(p) = env.get(var).filter(|p| !p.is_empty()) {
            return (p.clone(), var.into());
        }
    }
    ("default".into(), "default".into())
}

/// Why configured endpoints are ignored, if they are. The environment variable, when present,
/// decides alone (botocore's provider chain stops at the first source that has a value).
fn ignored(env: &HashMap<String, String>, profile_value: Option<&str>) -> Option<String> {
    const VAR: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
    if let Some(v) = env.get(VAR) {
        return v.eq_ignore_ascii_case("true").then(|| format!("{VAR}={v}"));
    }
    profile_value
        .filter(|v| v.eq_ignore_ascii_case("true"))
        .map(|v| format!("ignore_configured_endpoint_urls = {v} in the profile"))
}

/// The selected profile and where it lives, for lookups and details.
struct ProfileCtx<'a> {
    ini: &'a Ini,
    files: &'a Files<'a>,
    section: Option<&'a Section>,
    name: &'a str,
    source: &'a str,
    path: &'a str,
}

impl ProfileCtx<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.section
            .and_then(|s| self.ini.get(s, key))
            .filter(|v| !v.is_empty())
    }

    /// `profile dev via AWS_PROFILE`, or `profile default`.
    fn chosen(&self) -> String {
        if self.source == "default" {
            format!("profile {}", self.name)
        } else {
            format!("profile {} via {}", self.name, self.source)
        }
    }

    /// `services = NAME` → `[services NAME]` → `s3` block → `endpoint_url`.
    fn services_endpoint(&self) -> Result<Option<(String, String)>, ConfigError> {
        let Some(name) = self.get("services") else {
            return Ok(None);
        };
        let section = self
            .files
            .services
            .get(name)
            .filter(|s| !s.options.is_empty() || !self.ini.defaults.is_empty())
            .ok_or_else(|| ConfigError::MissingServices {
                path: self.path.to_string(),
                profile: self.name.to_string(),
                name: name.to_string(),
            })?;
        let Some(block) = self.ini.get(section, "s3") else {
            return Ok(None);
        };
        let nested = parse_nested(block).map_err(|line| ConfigError::Nested {
            path: self.path.to_string(),
            section: section.name.clone(),
            option: "s3".into(),
            line,
        })?;
        // botocore calls `.get('endpoint_url')` on the block, and fails on a plain string.
        let nested = nested.ok_or_else(|| ConfigError::NotABlock {
            path: self.path.to_string(),
            section: section.name.clone(),
            option: "s3".into(),
        })?;
        // A repeated key: the last one wins (a Python dict), and an empty value is unset.
        let url = nested
            .into_iter()
            .rev()
            .find(|(k, _)| k == "endpoint_url")
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty());
        let detail = format!(
            "{} [{}] s3 endpoint_url ({}: services = {name})",
            self.path,
            section.name,
            self.chosen()
        );
        Ok(url.map(|u| (u, detail)))
    }
}

/// Every setting that names an S3 endpoint, in precedence order: (url, origin, detail).
fn candidates(
    env: &HashMap<String, String>,
    prof: &ProfileCtx<'_>,
) -> Result<Vec<(String, Origin, String)>, ConfigError> {
    let mut out = Vec::new();
    for var in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
        if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
            out.push((v.clone(), Origin::Env, var.to_string()));
        }
    }
    // botocore only reads the services section when the environment gave nothing; an error
    // there (a missing section) cannot happen once an environment variable has won.
    if out.is_empty() {
        if let Some((url, detail)) = prof.services_endpoint()? {
            out.push((url, Origin::AwsConfig, detail));
        }
    } else if let Ok(Some((url, detail))) = prof.services_endpoint() {
        out.push((url, Origin::AwsConfig, detail));
    }
    if let Some(v) = prof.get("endpoint_url") {
        let section = prof.section.map_or("", |s| s.name.as_str());
        let detail = format!("{} [{section}] endpoint_url ({})", prof.path, prof.chosen());
        out.push((v.to_string(), Origin::AwsConfig, detail));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "aws_config_tests.rs"]
mod tests;
