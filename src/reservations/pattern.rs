//! Reservation patterns (contract section 12): repository-relative globs checked and
//! normalised once, whether a pattern covers a path, and the conservative rule deciding
//! whether two patterns could both cover some path. Matching is `globset`'s, with `*` and
//! `?` kept inside one path segment; the overlap rule walks the patterns segment by
//! segment and answers "conflict" whenever it cannot rule a shared path out.

use globset::{GlobBuilder, GlobMatcher};

use crate::outcome::UsageError;

/// Characters that make a pattern (or one of its segments) a glob.
const GLOB_CHARS: &[char] = &['*', '?', '['];

/// A checked pattern: `src/api.rs`, `docs`, `src/**/*.rs`, `tests/[ab]*.rs`.
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    /// Present for globs; a literal names a path and everything under it.
    matcher: Option<GlobMatcher>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Pattern {
    /// Checks and normalises `raw`: a leading `./` and trailing `/` are dropped; absolute
    /// paths, `..`, empty segments, backslashes, `{a,b}` alternation and unclosed classes
    /// are usage errors.
    pub fn parse(raw: &str) -> Result<Pattern, UsageError> {
        let bad = |why: &str| {
            let mut e = UsageError::new(format!("invalid pattern '{raw}': {why}"));
            e.hint = Some(
                "patterns are repository-relative, like src/api.rs, docs or src/**/*.rs".into(),
            );
            e
        };
        let mut text = raw.trim();
        while let Some(rest) = text.strip_prefix("./") {
            text = rest;
        }
        let text = text.trim_end_matches('/');
        if text.is_empty() || text == "." {
            return Err(bad("empty"));
        }
        if raw.trim().starts_with('/') {
            return Err(bad("absolute paths are not repository-relative"));
        }
        if text.contains('\\') || text.chars().any(char::is_control) {
            return Err(bad("backslashes and control characters are not allowed"));
        }
        if text.contains(['{', '}']) {
            return Err(bad("alternation {a,b} is not supported: give each pattern"));
        }
        for segment in text.split('/') {
            match segment {
                "" => return Err(bad("empty path segment")),
                "." | ".." => return Err(bad("'.' and '..' segments are not allowed")),
                _ => {}
            }
            // A class must close inside its segment: `[/]` could otherwise hide a separator.
            if is_glob(segment) {
                glob(segment).map_err(|e| bad(&e))?;
            }
        }
        let matcher = if is_glob(text) {
            Some(glob(text).map_err(|e| bad(&e))?)
        } else {
            None
        };
        Ok(Pattern {
            text: text.to_string(),
            matcher,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_glob(&self) -> bool {
        self.matcher.is_some()
    }

    /// Whether the repository-relative `path` lies in this pattern: a literal covers itself
    /// and everything under it, a glob the paths it matches.
    pub fn covers(&self, path: &str) -> bool {
        match &self.matcher {
            Some(m) => m.is_match(path),
            None => under(path, &self.text),
        }
    }

    /// Whether some path could lie in both patterns. Never false for a real overlap; may
    /// be true for two globs that could not in fact share a path.
    pub fn conflicts(&self, other: &Pattern) -> bool {
        match (self.is_glob(), other.is_glob()) {
            (false, false) => under(&self.text, &other.text) || under(&other.text, &self.text),
            (false, true) => literal_meets_glob(&self.text, other),
            (true, false) => literal_meets_glob(&other.text, self),
            (true, true) => globs_meet(&segments(&self.text), &segments(&other.text)),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Normalises a repository-relative path as `covers` expects it.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn is_glob(text: &str) -> bool {
    text.contains(GLOB_CHARS)
}

fn glob(text: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// `path` is `dir` or lies under it.
fn under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn segments(text: &str) -> Vec<&str> {
    text.split('/').collect()
}

/// A literal path meets a glob when the glob matches it, or could match something under
/// it (the literal may name a directory).
fn literal_meets_glob(literal: &str, glob: &Pattern) -> bool {
    glob.covers(literal) || could_match_below(&segments(glob.as_str()), &segments(literal))
}

/// Whether the glob segments `g` could match some path strictly under the literal
/// segments `l`.
fn could_match_below(g: &[&str], l: &[&str]) -> bool {
    match (g.first(), l.first()) {
        (None, _) => false,
        (Some(s), _) if s.contains("**") => true,
        (Some(_), None) => true,
        (Some(s), Some(lit)) => segment_meets(s, lit) && could_match_below(&g[1..], &l[1..]),
    }
}

/// Whether two globs could match one path: segment by segment, literal segments must be
/// equal, a glob segment must match a literal one, two glob segments are assumed to meet,
/// and a `**` on either side ends the walk with "yes".
fn globs_meet(a: &[&str], b: &[&str]) -> bool {
    match (a.first(), b.first()) {
        (Some(x), _) if x.contains("**") => true,
        (_, Some(y)) if y.contains("**") => true,
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(x), Some(y)) => segment_meets(x, y) && globs_meet(&a[1..], &b[1..]),
    }
}

/// Whether one path segment could match both `x` and `y`.
fn segment_meets(x: &str, y: &str) -> bool {
    match (is_glob(x), is_glob(y)) {
        (false, false) => x == y,
        (true, false) => glob(x).is_ok_and(|m| m.is_match(y)),
        (false, true) => glob(y).is_ok_and(|m| m.is_match(x)),
        (true, true) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Pattern {
        Pattern::parse(text).unwrap()
    }

    /// The conflict rule on a table of pattern pairs; each pair is checked both ways.
    #[test]
    fn conflict_rule_table() {
        let table: &[(&str, &str, bool, &str)] = &[
            // literal vs literal
            ("src/api.rs", "src/api.rs", true, "same file"),
            ("src/api.rs", "src/db.rs", false, "different files"),
            (
                "src/api.rs",
                "src/api.rs.bak",
                false,
                "a name prefix is not a parent",
            ),
            ("src", "src/api.rs", true, "a directory covers its files"),
            (
                "src/",
                "src/deep/er/file.rs",
                true,
                "trailing slash, deep file",
            ),
            ("./docs", "docs/a.md", true, "leading ./ is dropped"),
            (
                "src",
                "srcs/a.rs",
                false,
                "a directory does not cover a sibling",
            ),
            // literal vs glob
            ("src/api.rs", "src/*.rs", true, "glob matches the literal"),
            ("src/api.md", "src/*.rs", false, "glob misses the literal"),
            (
                "src/a/api.rs",
                "src/*.rs",
                false,
                "* stays within one segment",
            ),
            (
                "src",
                "src/*.rs",
                true,
                "glob matches under a literal directory",
            ),
            (
                "src/a",
                "src/*/x.rs",
                true,
                "glob matches under a nested directory",
            ),
            ("src/a", "src/b/*.rs", false, "diverging literal segment"),
            ("lib", "src/**", false, "different top directory"),
            ("src/a/b/c.rs", "src/**", true, "** crosses segments"),
            ("src/a/b/c.rs", "**/c.rs", true, "leading **"),
            (
                "src/a/b/c.rs",
                "**/d.rs",
                true,
                "the literal could be a directory holding d.rs",
            ),
            (
                "src/*.rs",
                "**/d.rs",
                true,
                "conservative: ** against any glob",
            ),
            ("x", "**", true, "** matches everything"),
            ("src/a.rs", "src/?.rs", true, "? matches one character"),
            (
                "src/ab.rs",
                "src/?.rs",
                false,
                "? matches only one character",
            ),
            ("src/a.rs", "src/[ab].rs", true, "class matches"),
            ("src/c.rs", "src/[ab].rs", false, "class misses"),
            ("src/c.rs", "src/[!ab].rs", true, "negated class matches"),
            (
                "tests",
                "tests/[a-c]*/*.rs",
                true,
                "class under a directory",
            ),
            // glob vs glob
            (
                "src/*.rs",
                "src/*.md",
                true,
                "conservative: two globs in one directory",
            ),
            (
                "src/*.rs",
                "docs/*.md",
                false,
                "literal leading segments diverge",
            ),
            (
                "src/*.rs",
                "src/a/*.rs",
                false,
                "different depths without **",
            ),
            ("src/**", "src/a/*.rs", true, "** against a deeper glob"),
            ("src/**/*.rs", "docs/**", false, "diverging before **"),
            (
                "src/**/*.rs",
                "**/*.md",
                true,
                "conservative: ** on both sides",
            ),
            (
                "*/api.rs",
                "src/*.rs",
                true,
                "glob segments meet literal ones",
            ),
            (
                "*/api.rs",
                "src/*.md",
                false,
                "literal segment misses the glob",
            ),
            ("src/[ab]*", "src/[cd]*", true, "conservative: two classes"),
            ("src/[ab].rs", "src/c*", true, "conservative: class vs star"),
            ("src/[ab]/x", "src/c/*", false, "class vs literal segment"),
        ];
        for &(a, b, want, why) in table {
            assert_eq!(p(a).conflicts(&p(b)), want, "{a} vs {b}: {why}");
            assert_eq!(p(b).conflicts(&p(a)), want, "{b} vs {a}: {why}");
        }
    }

    #[test]
    fn covering_follows_glob_semantics() {
        assert!(p("src").covers("src/a/b.rs"));
        assert!(p("src/api.rs").covers("src/api.rs"));
        assert!(!p("src/api.rs").covers("src/api.rs.orig"));
        assert!(p("src/*.rs").covers("src/a.rs"));
        assert!(!p("src/*.rs").covers("src/a/b.rs"));
        assert!(p("src/**/*.rs").covers("src/a/b.rs"));
        assert!(p("src/**").covers("src/a/b.rs"));
        assert!(p("[Mm]akefile").covers("Makefile"));
    }

    #[test]
    fn bad_patterns_are_usage_errors() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a\\b",
            "src/{a,b}.rs",
            "src/[ab",
            "src/[/]x",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(p("./src/").as_str(), "src");
        assert_eq!(normalize_path("./src/../lib//a.rs"), "lib/a.rs");
    }
}
