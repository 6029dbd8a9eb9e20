//! The plan's documents and inputs: the stored spec (`steps/<sid>/spec.json`, contract
//! section 10), the step definitions a plan file or `plan add` gives, and the parsing of
//! plan files (JSON `{"steps": [...]}` or a bare list; TOML `[[steps]]` tables). Checking a
//! definition's identifiers, priority and labels happens here too, before anything is
//! written.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PlanError;
use crate::ids;

/// The priority a step gets when none is given (0 most urgent, 4 least).
pub const DEFAULT_PRIORITY: u8 = 2;
pub const MAX_PRIORITY: u8 = 4;
const MAX_LABEL: usize = 64;

/// `steps/<sid>/spec.json`. Unknown fields (another tool's additions) survive a rewrite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Spec {
    pub id: String,
    /// The id as typed.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub title: String,
    /// Normalised step ids this step waits for.
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_priority() -> u8 {
    DEFAULT_PRIORITY
}

impl Spec {
    /// The id as the user typed it (older or foreign specs may lack `name`).
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }

    /// The same step definition (what a plan file says), whatever the bookkeeping.
    pub fn same_definition(&self, def: &StepDef) -> bool {
        self.name == def.name
            && self.title == def.title
            && self.after == def.after
            && self.labels == def.labels
            && self.priority == def.priority
            && self.description == def.description
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}

/// A checked step definition: id normalised, `after` normalised and deduplicated.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDef {
    pub id: String,
    pub name: String,
    pub title: String,
    pub after: Vec<String>,
    pub labels: Vec<String>,
    pub priority: u8,
    pub description: String,
}

impl StepDef {
    /// The spec to store: a new one, or `existing` with this definition.
    pub fn to_spec(&self, existing: Option<&Spec>, agent: &str, now: &str) -> Spec {
        let (created_by, created_at, extra) = match existing {
            Some(s) => (s.created_by.clone(), s.created_at.clone(), s.extra.clone()),
            None => (Some(agent.to_string()), Some(now.to_string()), Map::new()),
        };
        Spec {
            id: self.id.clone(),
            name: self.name.clone(),
            title: self.title.clone(),
            after: self.after.clone(),
            labels: self.labels.clone(),
            priority: self.priority,
            description: self.description.clone(),
            created_by,
            created_at,
            updated_at: Some(now.to_string()),
            extra,
        }
    }
}

/// One step as a plan file (or `plan add`) gives it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
}

impl StepInput {
    /// Checks identifiers, priority and labels (exit 2 material).
    pub fn check(&self) -> Result<StepDef, PlanError> {
        let id = ids::normalize_step(&self.id)?;
        let mut after = Vec::new();
        for a in &self.after {
            let sid = ids::normalize_step(a)?;
            if sid == id {
                return Err(PlanError::Cycle {
                    path: vec![self.id.clone(), self.id.clone()],
                });
            }
            if !after.contains(&sid) {
                after.push(sid);
            }
        }
        let priority = match self.priority {
            None => DEFAULT_PRIORITY,
            Some(p) if (0..=MAX_PRIORITY as i64).contains(&p) => p as u8,
            Some(p) => {
                return Err(PlanError::Invalid(format!(
                    "step '{}': priority must be 0 to {MAX_PRIORITY} (0 most urgent), not {p}",
                    self.id
                )));
            }
        };
        let mut labels: Vec<String> = Vec::new();
        for l in &self.labels {
            check_label(l).map_err(|why| {
                PlanError::Invalid(format!("step '{}': label '{l}' {why}", self.id))
            })?;
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        Ok(StepDef {
            id,
            name: self.id.trim().to_string(),
            title: self.title.clone().unwrap_or_default(),
            after,
            labels,
            priority,
            description: self.description.clone().unwrap_or_default(),
        })
    }
}

/// Labels are single words a user filters by: 1 to 64 characters, no white space, no
/// control characters, no commas.
pub fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() || label.chars().count() > MAX_LABEL {
        return Err("must be 1 to 64 characters");
    }
    if label
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err("may not contain white space, control characters or commas");
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonFile {
    Wrapped { steps: Vec<StepInput> },
    Bare(Vec<StepInput>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    steps: Vec<StepInput>,
}

/// Parses a plan file: TOML when `toml` is set (a name ending in `.toml`), else JSON.
pub fn parse_file(text: &str, toml: bool) -> Result<Vec<StepInput>, PlanError> {
    if toml {
        let file: TomlFile =
            ::toml::from_str(text).map_err(|e| PlanError::Parse(e.message().to_string()))?;
        return Ok(file.steps);
    }
    // Parsed to a value first so a wrong shape gets a precise message rather than
    // serde's "did not match any variant".
    let value: Value =
        serde_json::from_str(text).map_err(|e| PlanError::Parse(format!("not JSON: {e}")))?;
    if !(value.is_array() || value.get("steps").is_some_and(Value::is_array)) {
        return Err(PlanError::Parse(
            "expected {\"steps\": [...]} or a list of steps".into(),
        ));
    }
    match serde_json::from_value::<JsonFile>(value.clone()) {
        Ok(JsonFile::Wrapped { steps }) | Ok(JsonFile::Bare(steps)) => Ok(steps),
        Err(_) => {
            let list = value.get("steps").unwrap_or(&value).clone();
            // Report the first bad step precisely.
            let items = list.as_array().cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                if let Err(e) = serde_json::from_value::<StepInput>(item) {
                    return Err(PlanError::Parse(format!("step {}: {e}", i + 1)));
                }
            }
            Err(PlanError::Parse(
                "expected {\"steps\": [...]} or a list of steps".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_wrapped_bare_and_toml_files_parse_alike() {
        let wrapped = r#"{"steps": [{"id": "Build", "title": "Build it", "labels": ["ci"]},
                                    {"id": "test", "after": ["build"], "priority": 0}]}"#;
        let bare = r#"[{"id": "Build", "title": "Build it", "labels": ["ci"]},
                       {"id": "test", "after": ["build"], "priority": 0}]"#;
        let toml = "[[steps]]\nid = \"Build\"\ntitle = \"Build it\"\nlabels = [\"ci\"]\n\n\
                    [[steps]]\nid = \"test\"\nafter = [\"build\"]\npriority = 0\n";
        for (text, is_toml) in [(wrapped, false), (bare, false), (toml, true)] {
            let steps = parse_file(text, is_toml).unwrap();
            let defs: Vec<StepDef> = steps.iter().map(|s| s.check().unwrap()).collect();
            assert_eq!(defs[0].id, "build");
            assert_eq!(defs[0].name, "Build");
            assert_eq!(defs[0].priority, DEFAULT_PRIORITY);
            assert_eq!(defs[0].labels, ["ci"]);
            assert_eq!(defs[1].after, ["build"]);
            assert_eq!(defs[1].priority, 0);
        }
    }

    #[test]
    fn bad_files_and_fields_are_named() {
        let err = parse_file(r#"{"steps": [{"id": "a", "depends_on": ["b"]}]}"#, false);
        assert!(
            err.unwrap_err().to_string().contains("depends_on"),
            "unknown fields are refused"
        );
        assert!(parse_file("{\"nope\": 1}", false).is_err());
        assert!(parse_file("[[steps]]\nid = 3\n", true).is_err());
        let bad_priority = StepInput {
            id: "a".into(),
            priority: Some(7),
            ..Default::default()
        };
        assert!(
            bad_priority
                .check()
                .unwrap_err()
                .to_string()
                .contains("0 to 4")
        );
        let bad_label = StepInput {
            id: "a".into(),
            labels: vec!["two words".into()],
            ..Default::default()
        };
        assert!(bad_label.check().is_err());
        let bad_id = StepInput {
            id: "../x".into(),
            ..Default::default()
        };
        assert!(matches!(bad_id.check(), Err(PlanError::Id(_))));
        let own = StepInput {
            id: "A".into(),
            after: vec!["a".into()],
            ..Default::default()
        };
        assert!(matches!(own.check(), Err(PlanError::Cycle { .. })));
    }
}
