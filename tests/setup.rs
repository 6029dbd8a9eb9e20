//! `setup claude-code|codex` (contract section 11) on settings files people edit by hand:
//! the merge keeps every other key and hook, a second run changes no byte, `--remove`
//! takes out only tracecraft's entries, an unparsable file is refused untouched (exit 2),
//! `--dry-run` writes nothing, and Codex's TOML keeps its comments.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use support::cli::{code, ok, stderr};

/// Runs `tracecraft setup ARGS` in `project` with `home` as HOME.
fn setup(project: &Path, home: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tracecraft"))
        .current_dir(project)
        .env("HOME", home)
        .env_remove("TRACECRAFT_CONFIG")
        .arg("setup")
        .args(args)
        .output()
        .unwrap()
}

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    (tmp, project, home)
}

/// A hand-written settings file: other settings, another tool's hooks on the same events.
const CLAUDE_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(cargo test:*)"]
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [{"type": "command", "command": "cargo fmt"}]
      }
    ],
    "Notification": [
      {"hooks": [{"type": "command", "command": "notify-send done"}]}
    ]
  },
  "env": {"RUST_LOG": "info"}
}
"#;

fn commands(v: &Value, event: &str) -> Vec<String> {
    v["hooks"][event]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .flat_map(|g| g["hooks"].as_array().unwrap().iter())
                .map(|h| h["command"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn claude_code_project_setup_merges_is_idempotent_and_removes_only_its_own() {
    let (_tmp, project, home) = dirs();
    let settings = project.join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, CLAUDE_SETTINGS).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o640)).unwrap();
    }

    let out = setup(
        &project,
        &home,
        &["claude-code", "--mcp", "--block-on-unread"],
    );
    let text = ok(&out);
    assert!(text.contains("added hooks.SessionStart"), "{text}");
    assert!(text.contains("added mcpServers.tracecraft"), "{text}");
    let v = read_json(&settings);
    // Every other key kept, in its place; our hooks beside the others.
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["model", "permissions", "hooks", "env"]);
    assert_eq!(v["permissions"]["allow"][0], "Bash(cargo test:*)");
    assert_eq!(
        commands(&v, "PostToolUse"),
        ["cargo fmt", "tracecraft hook post-tool-use"]
    );
    assert_eq!(v["hooks"]["PostToolUse"][0]["matcher"], "Write|Edit");
    assert_eq!(commands(&v, "Notification"), ["notify-send done"]);
    assert_eq!(
        commands(&v, "SessionStart"),
        ["tracecraft hook session-start"]
    );
    assert_eq!(
        commands(&v, "UserPromptSubmit"),
        ["tracecraft hook user-prompt-submit"]
    );
    assert_eq!(
        commands(&v, "Stop"),
        ["tracecraft hook stop --block-on-unread"]
    );
    assert_eq!(commands(&v, "SessionEnd"), ["tracecraft hook session-end"]);
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["type"], "command");
    assert!(v["hooks"]["Stop"][0]["hooks"][0]["timeout"].is_u64());
    let mcp = read_json(&project.join(".mcp.json"));
    assert_eq!(mcp["mcpServers"]["tracecraft"]["command"], "tracecraft");
    assert_eq!(mcp["mcpServers"]["tracecraft"]["args"], json!(["mcp"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&settings).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "permissions kept");
    }

    // A second run changes no byte.
    let bytes = std::fs::read(&settings).unwrap();
    let mcp_bytes = std::fs::read(project.join(".mcp.json")).unwrap();
    let text = ok(&setup(
        &project,
        &home,
        &["claude-code", "--mcp", "--block-on-unread"],
    ));
    assert!(
        text.contains("unchanged") && !text.contains("added"),
        "{text}"
    );
    assert_eq!(std::fs::read(&settings).unwrap(), bytes);
    assert_eq!(std::fs::read(project.join(".mcp.json")).unwrap(), mcp_bytes);

    // A changed option replaces our entry in place of adding a second one.
    let text = ok(&setup(&project, &home, &["claude-code", "--mirror"]));
    assert!(text.contains("updated hooks.Stop"), "{text}");
    let v = read_json(&settings);
    assert_eq!(commands(&v, "Stop"), ["tracecraft hook stop --mirror"]);
    assert_eq!(commands(&v, "PostToolUse").len(), 2);

    // --remove: only ours go; the hand-written parts are as they were.
    let text = ok(&setup(&project, &home, &["claude-code", "--remove"]));
    assert!(text.contains("removed hooks.Stop"), "{text}");
    let v = read_json(&settings);
    let original: Value = serde_json::from_str(CLAUDE_SETTINGS).unwrap();
    assert_eq!(v, original);
    let mcp = read_json(&project.join(".mcp.json"));
    assert!(mcp.get("mcpServers").is_none(), "{mcp}");
    // Removing again changes nothing.
    let bytes = std::fs::read(&settings).unwrap();
    ok(&setup(&project, &home, &["claude-code", "--remove"]));
    assert_eq!(std::fs::read(&settings).unwrap(), bytes);
}

#[test]
fn user_and_local_scopes_and_dry_run() {
    let (_tmp, project, home) = dirs();
    // --dry-run prints the file and writes nothing.
    let out = setup(
        &project,
        &home,
        &["claude-code", "--scope", "user", "--dry-run"],
    );
    let text = ok(&out);
    assert!(text.contains("tracecraft hook session-start"), "{text}");
    assert!(!home.join(".claude/settings.json").exists());

    ok(&setup(
        &project,
        &home,
        &["claude-code", "--scope", "user", "--mcp"],
    ));
    let v = read_json(&home.join(".claude/settings.json"));
    assert_eq!(commands(&v, "Stop"), ["tracecraft hook stop"]);
    let claude = read_json(&home.join(".claude.json"));
    assert_eq!(claude["mcpServers"]["tracecraft"]["args"], json!(["mcp"]));

    ok(&setup(
        &project,
        &home,
        &["claude-code", "--scope", "local", "--mcp"],
    ));
    assert!(project.join(".claude/settings.local.json").exists());
    let claude = read_json(&home.join(".claude.json"));
    let dir = project.display().to_string();
    assert_eq!(
        claude["projects"][&dir]["mcpServers"]["tracecraft"]["command"],
        "tracecraft"
    );
    assert_eq!(claude["mcpServers"]["tracecraft"]["args"], json!(["mcp"]));

    // Codex has no local scope: a usage error.
    let out = setup(&project, &home, &["codex", "--scope", "local"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn invalid_files_are_refused_untouched() {
    let (_tmp, project, home) = dirs();
    let settings = project.join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let broken = "{\n  \"model\": \"opus\",\n  // a comment is not JSON\n}\n";
    std::fs::write(&settings, broken).unwrap();
    let out = setup(&project, &home, &["claude-code", "--mcp"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not valid JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), broken);
    assert!(
        !project.join(".mcp.json").exists(),
        "nothing written anywhere"
    );

    // `hooks` of the wrong shape is refused as well.
    std::fs::write(&settings, r#"{"hooks": ["not", "an", "object"]}"#).unwrap();
    let out = setup(&project, &home, &["claude-code"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    let config = project.join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "model = \"o3\"\n[broken\n").unwrap();
    let out = setup(&project, &home, &["codex", "--mcp"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not valid TOML"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "model = \"o3\"\n[broken\n"
    );
    assert!(!project.join(".codex/hooks.json").exists());
}

const CODEX_CONFIG: &str = r#"# my Codex settings
model = "gpt-5-codex"  # the default model

[features]
web_search = true

[mcp_servers.github]
command = "github-mcp"
args = ["--stdio"]
"#;

#[test]
fn codex_setup_edits_hooks_json_and_config_toml_keeping_comments() {
    let (_tmp, project, home) = dirs();
    let codex = project.join(".codex");
    std::fs::create_dir_all(&codex).unwrap();
    std::fs::write(codex.join("config.toml"), CODEX_CONFIG).unwrap();
    std::fs::write(
        codex.join("hooks.json"),
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}"#,
    )
    .unwrap();

    let text = ok(&setup(&project, &home, &["codex", "--mcp", "--mirror"]));
    assert!(text.contains("added mcp_servers.tracecraft"), "{text}");
    let hooks = read_json(&codex.join("hooks.json"));
    assert_eq!(
        commands(&hooks, "Stop"),
        ["say done", "tracecraft hook stop --mirror --harness codex"]
    );
    assert_eq!(
        commands(&hooks, "SessionEnd"),
        ["tracecraft hook session-end --mirror --harness codex --timeout 2"]
    );
    let toml = std::fs::read_to_string(codex.join("config.toml")).unwrap();
    assert!(
        toml.starts_with("# my Codex settings\nmodel = \"gpt-5-codex\"  # the default model\n"),
        "{toml}"
    );
    assert!(toml.contains("web_search = true"), "{toml}");
    assert!(toml.contains("codex_hooks = true"), "{toml}");
    assert!(
        toml.contains("[mcp_servers.github]\ncommand = \"github-mcp\""),
        "{toml}"
    );
    assert!(
        toml.contains("[mcp_servers.tracecraft]\ncommand = \"tracecraft\"\nargs = [\"mcp\"]"),
        "{toml}"
    );

    // Second run: byte-identical files.
    let (h, t) = (
        std::fs::read(codex.join("hooks.json")).unwrap(),
        std::fs::read(codex.join("config.toml")).unwrap(),
    );
    ok(&setup(&project, &home, &["codex", "--mcp", "--mirror"]));
    assert_eq!(std::fs::read(codex.join("hooks.json")).unwrap(), h);
    assert_eq!(std::fs::read(codex.join("config.toml")).unwrap(), t);

    // --remove: the other tool's hook and server stay, comments too.
    ok(&setup(&project, &home, &["codex", "--remove"]));
    let hooks = read_json(&codex.join("hooks.json"));
    assert_eq!(
        hooks,
        json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}})
    );
    let toml = std::fs::read_to_string(codex.join("config.toml")).unwrap();
    assert!(!toml.contains("tracecraft"), "{toml}");
    assert!(
        toml.contains("[mcp_servers.github]") && toml.contains("# the default model"),
        "{toml}"
    );
}
