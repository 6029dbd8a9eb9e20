//! The git side of the reservation guard (contract section 12): which repository-relative
//! paths a commit or a push touches (read through `git2`; a rename counts both names), how
//! a path typed on the command line maps into the repository, and the hooks `guard
//! install` writes. An installed hook chains the hook it found (kept beside it and run
//! first), honours `core.hooksPath`, and is recognised by its marker line so `guard
//! uninstall` removes only it and puts the chained hook back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{DiffFindOptions, Oid, Repository, Tree};

use crate::reservations::pattern::normalize_path;

/// The line that marks a hook as ours.
const MARKER: &str = "# tracecraft guard hook";
/// The suffix of a hook that was there before ours, which ours runs first.
const CHAINED: &str = ".tracecraft-chained";

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot install the {hook} hook: {chained} exists already; move it away first")]
    ChainTaken { hook: String, chained: PathBuf },
    #[error("unexpected pre-push input line: {0:?}")]
    PushInput(String),
}

type Result<T> = std::result::Result<T, GuardError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GuardError + '_ {
    move |source| GuardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The git hooks the guard can install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    PreCommit,
    PrePush,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::PreCommit, Hook::PrePush];

    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }

    /// The hook script: the chained hook first (its failure stops the commit), then the
    /// check. A pre-push hook reads the refs on stdin, so both get a copy.
    fn script(self, exe: &Path) -> String {
        let exe = exe.display().to_string().replace('\'', r"'\''");
        let name = self.name();
        let head = format!(
            "#!/bin/sh\n{MARKER} ({name}): refuses changes to paths another agent reserved.\n\
             # Installed by `tracecraft guard install`; `tracecraft guard uninstall` removes it\n\
             # and puts back the hook it chains ({name}{CHAINED}).\n\
             # TRACECRAFT_GUARD=warn never blocks; TRACECRAFT_GUARD=strict also blocks when\n\
             # the store cannot be reached.\n\
             chained=\"$(dirname \"$0\")/{name}{CHAINED}\"\n\
             tracecraft='{exe}'\n\
             [ -x \"$tracecraft\" ] || tracecraft=tracecraft\n"
        );
        match self {
            Hook::PreCommit => format!(
                "{head}if [ -x \"$chained\" ]; then\n  \"$chained\" \"$@\" || exit $?\nfi\n\
                 exec \"$tracecraft\" guard check --staged --hook\n"
            ),
            Hook::PrePush => format!(
                "{head}input=$(mktemp) || exit 1\ntrap 'rm -f \"$input\"' EXIT\ncat > \"$input\"\n\
                 if [ -x \"$chained\" ]; then\n  \"$chained\" \"$@\" < \"$input\" || exit $?\nfi\n\
                 \"$tracecraft\" guard check --pushed --hook < \"$input\"\n"
            ),
        }
    }
}

/// What `install` did for one hook.
#[derive(Clone, Debug)]
pub struct Installed {
    pub path: PathBuf,
    /// The existing hook now chained, if there was one.
    pub chained: Option<PathBuf>,
    /// Ours was there already and was rewritten.
    pub updated: bool,
}

/// The directory git runs hooks from: `core.hooksPath` (relative to the work tree) when
/// set, else the common `hooks` directory (shared by linked worktrees).
pub fn hooks_dir(repo: &Repository) -> Result<PathBuf> {
    let base = repo
        .workdir()
        .unwrap_or_else(|| repo.commondir())
        .to_path_buf();
    if let Ok(path) = repo.config()?.get_path("core.hooksPath") {
        return Ok(if path.is_absolute() {
            path
        } else {
            base.join(path)
        });
    }
    Ok(repo.commondir().join("hooks"))
}

pub fn open(cwd: &Path) -> Result<Repository> {
    Ok(Repository::discover(cwd)?)
}

/// Installs `hook` in the repository at `cwd`, running `exe`.
pub fn install(cwd: &Path, hook: Hook, exe: &Path) -> Result<Installed> {
    let repo = open(cwd)?;
    let dir = hooks_dir(&repo)?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let path = dir.join(hook.name());
    let chained_path = dir.join(format!("{}{CHAINED}", hook.name()));
    let mut chained = None;
    let mut updated = false;
    if path.exists() {
        if is_ours(&path) {
            updated = true;
        } else {
            if chained_path.exists() {
                return Err(GuardError::ChainTaken {
                    hook: hook.name().into(),
                    chained: chained_path,
                });
            }
            std::fs::rename(&path, &chained_path).map_err(io(&path))?;
        }
    }
    if chained_path.exists() {
        chained = Some(chained_path);
    }
    std::fs::write(&path, hook.script(exe)).map_err(io(&path))?;
    make_executable(&path)?;
    Ok(Installed {
        path,
        chained,
        updated,
    })
}

/// Removes the guard's hooks, putting back the hooks they chained. Returns the paths
/// removed; hooks that are not ours are left alone.
pub fn uninstall(cwd: &Path) -> Result<Vec<PathBuf>> {
    let repo = open(cwd)?;
    let dir = hooks_dir(&repo)?;
    let mut removed = Vec::new();
    for hook in Hook::ALL {
        let path = dir.join(hook.name());
        if !path.exists() || !is_ours(&path) {
            continue;
        }
        std::fs::remove_file(&path).map_err(io(&path))?;
        let chained = dir.join(format!("{}{CHAINED}", hook.name()));
        if chained.exists() {
            std::fs::rename(&chained, &path).map_err(io(&chained))?;
        }
        removed.push(path);
    }
    Ok(removed)
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.contains(MARKER))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io(path))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

/// The repository-relative paths staged for the next commit (both names of a rename).
pub fn staged_paths(cwd: &Path) -> Result<Vec<String>> {
    let repo = open(cwd)?;
    let index = repo.index()?;
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let mut diff = repo.diff_tree_to_index(head.as_ref(), Some(&index), None)?;
    Ok(paths_of(&mut diff)?.into_iter().collect())
}

/// The repository-relative paths changed by the commits a push sends, from the lines git
/// gives a pre-push hook on stdin (`<local ref> <local oid> <remote ref> <remote oid>`).
pub fn pushed_paths(cwd: &Path, input: &str) -> Result<Vec<String>> {
    let repo = open(cwd)?;
    let mut paths = BTreeSet::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote] = fields[..] else {
            return Err(GuardError::PushInput(line.into()));
        };
        let local = Oid::from_str(local)?;
        if local.is_zero() {
            continue; // a deletion sends no commits
        }
        let mut walk = repo.revwalk()?;
        walk.push(local)?;
        match Oid::from_str(remote) {
            Ok(r) if !r.is_zero() && repo.find_commit(r).is_ok() => walk.hide(r)?,
            // A new branch: what no remote-tracking branch has yet.
            _ => walk.hide_glob("refs/remotes/*")?,
        }
        for oid in walk {
            let commit = repo.find_commit(oid?)?;
            let parent: Option<Tree> = commit.parent(0).ok().and_then(|p| p.tree().ok());
            let mut diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&commit.tree()?), None)?;
            paths.extend(paths_of(&mut diff)?);
        }
    }
    Ok(paths.into_iter().collect())
}

fn paths_of(diff: &mut git2::Diff<'_>) -> Result<BTreeSet<String>> {
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path().and_then(Path::to_str) {
                paths.insert(p.to_string());
            }
        }
    }
    Ok(paths)
}

/// A path typed relative to `cwd`, as a repository-relative path: inside a git work tree
/// relative to its top, else as typed (normalised).
pub fn repo_relative(cwd: &Path, typed: &str) -> String {
    let top = Repository::discover(cwd)
        .ok()
        .and_then(|r| r.workdir().and_then(|w| w.canonicalize().ok()));
    if let (Some(top), Ok(cwd)) = (top, cwd.canonicalize()) {
        let joined = cwd.join(typed);
        let full = normalize_path(&joined.to_string_lossy());
        let top = normalize_path(&top.to_string_lossy());
        if let Some(rest) = full.strip_prefix(&top)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return normalize_path(rest);
        }
    }
    normalize_path(typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut config = repo.config().unwrap();
        config.set_str("user.name", "t").unwrap();
        config.set_str("user.email", "t@example.com").unwrap();
        (dir, repo)
    }

    fn commit_all(repo: &Repository, message: &str) {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = repo.signature().unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap();
    }

    #[test]
    fn staged_paths_count_both_names_of_a_rename() {
        let (dir, repo) = repo();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let body = "fn main() {}\n".repeat(20);
        std::fs::write(dir.path().join("src/old.rs"), &body).unwrap();
        // Before the first commit, everything staged counts.
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("src/old.rs")).unwrap();
        index.write().unwrap();
        assert_eq!(staged_paths(dir.path()).unwrap(), ["src/old.rs"]);
        commit_all(&repo, "one");
        assert!(staged_paths(dir.path()).unwrap().is_empty());

        std::fs::rename(dir.path().join("src/old.rs"), dir.path().join("src/new.rs")).unwrap();
        let mut index = repo.index().unwrap();
        index.remove_path(Path::new("src/old.rs")).unwrap();
        index.add_path(Path::new("src/new.rs")).unwrap();
        index.write().unwrap();
        assert_eq!(
            staged_paths(&dir.path().join("src")).unwrap(),
            ["src/new.rs", "src/old.rs"]
        );
    }

    #[test]
    fn pushed_paths_are_those_of_the_commits_the_remote_lacks() {
        let (dir, repo) = repo();
        std::fs::write(dir.path().join("a.rs"), "a").unwrap();
        commit_all(&repo, "one");
        let first = repo.head().unwrap().target().unwrap();
        std::fs::write(dir.path().join("b.rs"), "b").unwrap();
        commit_all(&repo, "two");
        std::fs::write(dir.path().join("c.rs"), "c").unwrap();
        commit_all(&repo, "three");
        let last = repo.head().unwrap().target().unwrap();
        let zero = Oid::zero();
        let line = |remote: Oid| format!("refs/heads/main {last} refs/heads/main {remote}\n");
        assert_eq!(
            pushed_paths(dir.path(), &line(first)).unwrap(),
            ["b.rs", "c.rs"]
        );
        // A new branch: every commit no remote-tracking branch has.
        assert_eq!(
            pushed_paths(dir.path(), &line(zero)).unwrap(),
            ["a.rs", "b.rs", "c.rs"]
        );
        let delete = format!("(delete) {zero} refs/heads/gone {first}\n");
        assert!(pushed_paths(dir.path(), &delete).unwrap().is_empty());
        assert!(pushed_paths(dir.path(), "garbage\n").is_err());
    }

    #[test]
    fn typed_paths_map_into_the_repository() {
        let (dir, _repo) = repo();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let sub = dir.path().join("src");
        assert_eq!(repo_relative(&sub, "api.rs"), "src/api.rs");
        assert_eq!(repo_relative(&sub, "../docs/a.md"), "docs/a.md");
        assert_eq!(repo_relative(dir.path(), "./src/x.rs"), "src/x.rs");
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(repo_relative(outside.path(), "./a/b"), "a/b");
    }

    #[test]
    fn install_chains_honours_hooks_path_and_uninstall_restores() {
        let (dir, repo) = repo();
        repo.config()
            .unwrap()
            .set_str("core.hooksPath", "githooks")
            .unwrap();
        let hooks = dir.path().join("githooks");
        std::fs::create_dir(&hooks).unwrap();
        std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\necho mine\n").unwrap();
        let exe = Path::new("/opt/tc's/tracecraft");
        let done = install(dir.path(), Hook::PreCommit, exe).unwrap();
        assert_eq!(done.path, hooks.join("pre-commit"));
        assert_eq!(
            done.chained,
            Some(hooks.join("pre-commit.tracecraft-chained"))
        );
        let script = std::fs::read_to_string(&done.path).unwrap();
        assert!(script.contains(MARKER) && script.contains(r"'/opt/tc'\''s/tracecraft'"));
        // Installing again rewrites ours and keeps the chained hook.
        let again = install(dir.path(), Hook::PreCommit, exe).unwrap();
        assert!(again.updated && again.chained.is_some());
        assert_eq!(uninstall(dir.path()).unwrap(), [hooks.join("pre-commit")]);
        assert_eq!(
            std::fs::read_to_string(hooks.join("pre-commit")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(
            uninstall(dir.path()).unwrap().is_empty(),
            "not ours any more"
        );
    }
}
