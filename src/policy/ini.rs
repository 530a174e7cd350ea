//! The shared AWS config file's INI dialect, read the way botocore reads it: Python's
//! `configparser.RawConfigParser` with its defaults, then botocore's one level of nesting
//! (`botocore.configloader.raw_config_parse` / `_parse_nested`).
//!
//! configparser rules kept here: a line whose first non-blank character is `#` or `;` is a
//! comment (no inline comments); `[name]` opens a section (the name is everything between the
//! first `[` and the last `]`, unstripped); `key = value` or `key: value` (split at the first `=`
//! or `:`, key lowercased); a line indented deeper than its option's line continues that value;
//! blank lines inside a value are kept and trailing ones dropped; `[DEFAULT]` supplies options to
//! every section; duplicate sections or options are errors (strict mode), as is an option before
//! any section. botocore then parses a value that starts with a newline (`s3 =` followed by
//! indented lines) as `key = value` lines.

use std::fmt;

/// One `[section]` with its options in file order (values joined as configparser joins them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// A parsed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<Section>,
    /// Options of `[DEFAULT]`, which configparser offers in every section.
    pub defaults: Vec<(String, String)>,
}

/// Why the file does not parse (botocore raises `ConfigParseError` for the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    /// 1-based line number.
    pub line: usize,
    pub reason: IniErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniErrorKind {
    MissingSectionHeader,
    DuplicateSection(String),
    DuplicateOption {
        section: String,
        option: String,
    },
    /// Neither a section header, an option, a comment nor a continuation.
    NotAnOption,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.line;
        match &self.reason {
            IniErrorKind::MissingSectionHeader => {
                write!(f, "line {l}: option before any [section]")
            }
            IniErrorKind::DuplicateSection(s) => write!(f, "line {l}: section [{s}] appears twice"),
            IniErrorKind::DuplicateOption { section, option } => {
                write!(
                    f,
                    "line {l}: option `{option}` appears twice in [{section}]"
                )
            }
            IniErrorKind::NotAnOption => write!(f, "line {l}: expected `key = value`"),
        }
    }
}

impl std::error::Error for IniError {}

/// configparser's name for the section whose options every section inherits.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Options being read: each value as its lines, joined at the end.
type Lines = Vec<(String, Vec<String>)>;

struct Building {
    sections: Vec<(String, Lines)>,
    defaults: Lines,
    /// The section being read: an index into `sections`, `usize::MAX` for `[DEFAULT]`, None before
    /// the first header.
    cur: Option<usize>,
    /// An option has been read in the current section (so deeper lines continue it).
    in_option: bool,
    /// Indentation of the last option or header line.
    indent_level: usize,
}

impl Building {
    fn options(&mut self, cur: Option<usize>) -> Option<&mut Lines> {
        match cur? {
            usize::MAX => Some(&mut self.defaults),
            i => self.sections.get_mut(i).map(|s| &mut s.1),
        }
    }
}

impl Ini {
    /// Parse the file text. Total: any input gives a value or an error with a line number.
    pub fn parse(text: &str) -> Result<Ini, IniError> {
        let mut b = Building {
            sections: Vec::new(),
            defaults: Vec::new(),
            cur: None,
            in_option: false,
            indent_level: 0,
        };
        for (idx, raw) in text.lines().enumerate() {
            b.line(idx.saturating_add(1), raw)?;
        }
        Ok(b.finish())
    }

    /// An option of a section, falling back to `[DEFAULT]` as configparser does.
    pub fn get<'a>(&'a self, section: &'a Section, option: &str) -> Option<&'a str> {
        section
            .options
            .iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| k == option)
            .map(|(_, v)| v.as_str())
    }
}

impl Building {
    /// One line, as configparser's `_read` loop body.
    fn line(&mut self, line: usize, raw: &str) -> Result<(), IniError> {
        let value = raw.trim();
        let is_comment = value.starts_with('#') || value.starts_with(';');
        if value.is_empty() || is_comment {
            // A blank (not comment) line inside a value is part of it.
            if !is_comment && self.in_option {
                self.continue_value(String::new());
            }
            return Ok(());
        }
        let indent = raw.len().saturating_sub(raw.trim_start().len());
        if self.in_option && indent > self.indent_level {
            self.continue_value(value.to_string());
            return Ok(());
        }
        self.indent_level = indent;
        if let Some(name) = section_header(value) {
            self.cur = Some(open_section(self, name, line)?);
            self.in_option = false;
            return Ok(());
        }
        self.option(line, value)
    }

    fn continue_value(&mut self, text: String) {
        if let Some(last) = self.options(self.cur).and_then(|o| o.last_mut()) {
            last.1.push(text);
        }
    }

    /// A `key = value` line of the current section.
    fn option(&mut self, line: usize, value: &str) -> Result<(), IniError> {
        let err = |reason| IniError { line, reason };
        let section = match self.cur {
            Some(usize::MAX) => DEFAULT_SECTION.to_string(),
            Some(i) => self
                .sections
                .get(i)
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            None => return Err(err(IniErrorKind::MissingSectionHeader)),
        };
        let (key, val) = split_option(value).ok_or(err(IniErrorKind::NotAnOption))?;
        let opts = self
            .options(self.cur)
            .ok_or(err(IniErrorKind::MissingSectionHeader))?;
        if opts.iter().any(|(k, _)| *k == key) {
            let option = key;
            return Err(err(IniErrorKind::DuplicateOption { section, option }));
        }
        opts.push((key, vec![val.to_string()]));
        self.in_option = true;
        Ok(())
    }

    fn finish(self) -> Ini {
        let join = |opts: Lines| {
            opts.into_iter()
                .map(|(k, v)| (k, v.join("\n").trim_end().to_string()))
                .collect()
        };
        Ini {
            sections: self
                .sections
                .into_iter()
                .map(|(name, opts)| Section {
                    name,
                    options: join(opts),
                })
                .collect(),
            defaults: join(self.defaults),
        }
    }
}

/// `[name]`: everything between the first `[` and the last `]` (Python `\[(?P<header>.+)\]`
/// matched at the start, greedy), at least one character.
fn section_header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    inner.get(..end).filter(|h| !h.is_empty())
}

fn open_section(b: &mut Building, name: &str, line: usize) -> Result<usize, IniError> {
    if name == DEFAULT_SECTION {
        return Ok(usize::MAX);
    }
    if b.sections.iter().any(|(n, _)| n == name) {
        return Err(IniError {
            line,
            reason: IniErrorKind::DuplicateSection(name.to_string()),
        });
    }
    b.sections.push((name.to_string(), Vec::new()));
    Ok(b.sections.len().saturating_sub(1))
}

/// `key = value` / `key: value`, split at the first `=` or `:`; the key right-trimmed and
/// lowercased (configparser's `optionxform`), the value trimmed. An empty key is an error.
fn split_option(value: &str) -> Option<(String, &str)> {
    let at = value.find(['=', ':'])?;
    let key = value.get(..at)?.trim_end();
    if key.is_empty() {
        return None;
    }
    let val = value.get(at.saturating_add(1)..)?.trim();
    Some((key.to_lowercase(), val))
}

/// botocore's one level of nesting: a value that starts with a newline is read as `key = value`
/// lines (split at the first `=`, both sides trimmed, keys kept as written). None when the value
/// is a plain string.
pub fn parse_nested(value: &str) -> Result<Option<Vec<(String, String)>>, String> {
    if !value.starts_with('\n') {
        return Ok(None);
    }
    let mut out = Vec::new();
    for l in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = l.split_once('=').ok_or_else(|| l.to_string())?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = us-east-1
; another comment

[profile dev]
services = local-s3
Endpoint_URL: https://global.test

[services local-s3]
s3 =
  endpoint_url = https://s3.local.test:8443
  # a comment inside the block
  addressing_style = path

sts =
    endpoint_url = http://sts.local.test
";

    #[test]
    fn reads_sections_options_and_nesting() {
        let ini = Ini::parse(CONFIG).unwrap();
        let names: Vec<&str> = ini.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", "profile dev", "services local-s3"]);
        let dev = &ini.sections[1];
        assert_eq!(ini.get(dev, "endpoint_url"), Some("https://global.test"));
        assert_eq!(ini.get(dev, "services"), Some("local-s3"));
        let svc = &ini.sections[2];
        let s3 = ini.get(svc, "s3").unwrap();
        assert_eq!(
            s3,
            "\nendpoint_url = https://s3.local.test:8443\naddressing_style = path"
        );
        let nested = parse_nested(s3).unwrap().unwrap();
        assert_eq!(
            nested[0],
            ("endpoint_url".into(), "https://s3.local.test:8443".into())
        );
        assert_eq!(nested.len(), 2);
        let sts = parse_nested(ini.get(svc, "sts").unwrap()).unwrap().unwrap();
        assert_eq!(
            sts,
            [(
                "endpoint_url".to_string(),
                "http://sts.local.test".to_string()
            )]
        );
    }

    #[test]
    fn default_section_is_inherited() {
        let ini =
            Ini::parse("[DEFAULT]\nendpoint_url = https://d.test\n[default]\nx = 1\n").unwrap();
        assert_eq!(ini.sections.len(), 1);
        assert_eq!(
            ini.get(&ini.sections[0], "endpoint_url"),
            Some("https://d.test")
        );
    }

    #[test]
    fn no_inline_comments_and_colon_values() {
        let ini = Ini::parse("[a]\nendpoint_url = https://h:8443 # not a comment\n").unwrap();
        assert_eq!(
            ini.get(&ini.sections[0], "endpoint_url"),
            Some("https://h:8443 # not a comment")
        );
    }

    #[test]
    fn crlf_and_blank_lines_inside_values() {
        let ini =
            Ini::parse("[a]\r\ns3 =\r\n\r\n  endpoint_url = https://h\r\n\r\n[b]\r\n").unwrap();
        let v = ini.get(&ini.sections[0], "s3").unwrap();
        assert_eq!(v, "\n\nendpoint_url = https://h");
        assert_eq!(parse_nested(v).unwrap().unwrap().len(), 1);
        assert_eq!(ini.sections[1].name, "b");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = Ini::parse("x = 1\n").unwrap_err();
        assert_eq!((e.line, e.reason), (1, IniErrorKind::MissingSectionHeader));
        let e = Ini::parse("[a]\n[a]\n").unwrap_err();
        assert_eq!(
            (e.line, e.reason),
            (2, IniErrorKind::DuplicateSection("a".into()))
        );
        let e = Ini::parse("[a]\nX = 1\nx = 2\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("`x` appears twice in [a]"));
        let e = Ini::parse("[a]\njunk\n").unwrap_err();
        assert_eq!((e.line, e.reason), (2, IniErrorKind::NotAnOption));
        let e = Ini::parse("[a]\n= v\n").unwrap_err();
        assert_eq!(e.reason, IniErrorKind::NotAnOption);
        assert_eq!(
            parse_nested("\nno equals sign"),
            Err("no equals sign".to_string())
        );
    }

    #[test]
    fn odd_headers_follow_python() {
        let ini = Ini::parse("[profile x] trailing]\n[ spaced ]\n").unwrap();
        assert_eq!(ini.sections[0].name, "profile x] trailing");
        assert_eq!(ini.sections[1].name, " spaced ");
        assert!(Ini::parse("[]\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn total_on_any_text(lines in proptest::collection::vec("[ \t]{0,3}[\\[\\]=:#; a-zA-Z]{0,12}", 0..12)) {
            if let Ok(ini) = Ini::parse(&lines.join("\n")) {
                for s in &ini.sections {
                    for (_, v) in &s.options {
                        let _ = parse_nested(v);
                    }
                }
            }
        }
    }

    #[test]
    fn total_on_arbitrary_bytes() {
        for t in [
            "",
            "\n\n",
            "[",
            "]",
            "[a]\n  \u{a0}x=1",
            "[ä]\nü:ö",
            "[a]\n\t\tk=v\n\tc",
        ] {
            let _ = Ini::parse(t);
        }
    }
}
