//! The plan drawn for humans: a table in dependency order with a summary line, a mermaid
//! flowchart and a Graphviz digraph. Nodes show the id, the title and the status (with the
//! holder); they are coloured by status; edges go from a dependency to its dependent.
//! Steps outside the plan that a plan step waits for are drawn dashed.

use std::collections::{BTreeSet, HashMap};

use super::graph::{Category, Counts, Facts, PlanStep};

/// Fill, stroke and text colours per status (the same in mermaid and dot).
fn colours(category: Category) -> (&'static str, &'static str, &'static str) {
    match category {
        Category::Complete => ("#c8e6c9", "#2e7d32", "#1b5e20"),
        Category::InProgress => ("#bbdefb", "#1565c0", "#0d47a1"),
        Category::Ready => ("#fff9c4", "#f9a825", "#5d4037"),
        Category::Waiting => ("#eeeeee", "#9e9e9e", "#424242"),
        Category::Blocked => ("#ffcdd2", "#c62828", "#b71c1c"),
        Category::NeedsReview => ("#e1bee7", "#6a1b9a", "#4a148c"),
    }
}

const ALL: [Category; 6] = [
    Category::Complete,
    Category::InProgress,
    Category::Ready,
    Category::Waiting,
    Category::Blocked,
    Category::NeedsReview,
];

fn status_words(step: &PlanStep) -> String {
    match &step.holder {
        Some(h) => format!("{} · {h}", step.category.name()),
        None => step.category.name().to_string(),
    }
}

/// Steps outside the plan that plan steps wait for, with what is known of them.
fn outside(steps: &[PlanStep]) -> BTreeSet<&str> {
    let ids: BTreeSet<&str> = steps.iter().map(|s| s.id()).collect();
    steps
        .iter()
        .flat_map(|s| s.spec.after.iter().map(String::as_str))
        .filter(|a| !ids.contains(a))
        .collect()
}

/// One line per step (`ID  STATUS  HOLDER  AFTER  TITLE`), then the counts.
pub fn text(steps: &[PlanStep], counts: &Counts) -> String {
    if steps.is_empty() {
        return "No plan: add steps with `tracecraft plan add` or `tracecraft plan apply FILE`."
            .into();
    }
    let rows: Vec<[String; 5]> = steps
        .iter()
        .map(|s| {
            [
                s.spec.display_name().to_string(),
                s.category.name().to_string(),
                s.holder.clone().unwrap_or_else(|| "-".into()),
                if s.spec.after.is_empty() {
                    "-".into()
                } else {
                    s.spec.after.join(",")
                },
                s.spec.title.clone(),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "HOLDER", "AFTER", "TITLE"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let mut out = String::new();
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}  ", row[i], w = *w));
        }
        out.push_str(&row[4]);
        out.trim_end().to_string()
    };
    let mut out: Vec<String> = std::iter::once(&header).chain(&rows).map(line).collect();
    out.push(String::new());
    out.push(format!("Plan: {}", counts.line()));
    out.join("\n")
}

/// Mermaid's entity codes keep quotes and angle brackets from ending a label.
fn mermaid_escape(text: &str) -> String {
    text.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A mermaid flowchart, top to bottom.
pub fn mermaid(steps: &[PlanStep], facts: &HashMap<String, Facts>) -> String {
    let mut out = vec!["flowchart TD".to_string()];
    for c in ALL {
        let (fill, stroke, color) = colours(c);
        out.push(format!(
            "  classDef {} fill:{fill},stroke:{stroke},color:{color}",
            c.name()
        ));
    }
    out.push(
        "  classDef outside fill:#ffffff,stroke:#9e9e9e,stroke-dasharray:4 3,color:#616161".into(),
    );
    let mut node: HashMap<&str, String> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        node.insert(s.id(), format!("s{i}"));
    }
    let outside = outside(steps);
    for (i, sid) in outside.iter().enumerate() {
        node.insert(sid, format!("x{i}"));
    }
    for s in steps {
        let mut label = format!("<b>{}</b>", mermaid_escape(s.spec.display_name()));
        if !s.spec.title.is_empty() {
            label.push_str(&format!("<br/>{}", mermaid_escape(&s.spec.title)));
        }
        label.push_str(&format!("<br/><i>{}</i>", mermaid_escape(&status_words(s))));
        out.push(format!(
            "  {}[\"{label}\"]:::{}",
            node[s.id()],
            s.category.name()
        ));
    }
    for sid in &outside {
        let state = facts
            .get(*sid)
            .map(|f| f.state.as_str())
            .unwrap_or("unknown");
        out.push(format!(
            "  {}[\"{}<br/><i>not in the plan · {}</i>\"]:::outside",
            node[sid],
            mermaid_escape(sid),
            mermaid_escape(state)
        ));
    }
    for s in steps {
        for a in &s.spec.after {
            out.push(format!("  {} --> {}", node[a.as_str()], node[s.id()]));
        }
    }
    out.join("\n")
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A Graphviz digraph, left to right.
pub fn dot(steps: &[PlanStep], facts: &HashMap<String, Facts>) -> String {
    let mut out = vec![
        "digraph plan {".to_string(),
        "  rankdir=LR;".into(),
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];".into(),
        "  edge [color=\"#616161\"];".into(),
    ];
    for s in steps {
        let (fill, stroke, color) = colours(s.category);
        let mut label = dot_escape(s.spec.display_name());
        if !s.spec.title.is_empty() {
            label.push_str(&format!("\\n{}", dot_escape(&s.spec.title)));
        }
        label.push_str(&format!("\\n[{}]", dot_escape(&status_words(s))));
        out.push(format!(
            "  \"{}\" [label=\"{label}\", fillcolor=\"{fill}\", color=\"{stroke}\", fontcolor=\"{color}\"];",
            dot_escape(s.id())
        ));
    }
    for sid in outside(steps) {
        let state = facts
            .get(sid)
            .map(|f| f.state.as_str())
            .unwrap_or("unknown");
        out.push(format!(
            "  \"{}\" [label=\"{}\\n(not in the plan: {})\", style=\"rounded,dashed\", color=\"#9e9e9e\", fontcolor=\"#616161\"];",
            dot_escape(sid),
            dot_escape(sid),
            dot_escape(state)
        ));
    }
    for s in steps {
        for a in &s.spec.after {
            out.push(format!(
                "  \"{}\" -> \"{}\";",
                dot_escape(a),
                dot_escape(s.id())
            ));
        }
    }
    out.push("}".into());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::graph::classify;
    use crate::plan::spec::Spec;

    fn spec(id: &str, title: &str, after: &[&str]) -> Spec {
        Spec {
            id: id.into(),
            name: id.into(),
            title: title.into(),
            after: after.iter().map(|s| s.to_string()).collect(),
            labels: vec![],
            priority: 2,
            description: String::new(),
            created_by: None,
            created_at: None,
            updated_at: None,
            extra: Default::default(),
        }
    }

    fn example() -> (Vec<PlanStep>, HashMap<String, Facts>) {
        let facts: HashMap<String, Facts> = [
            (
                "design".to_string(),
                Facts {
                    state: "complete".into(),
                    holder: None,
                    claimable: false,
                },
            ),
            (
                "build".to_string(),
                Facts {
                    state: "in_progress".into(),
                    holder: Some("bob".into()),
                    claimable: false,
                },
            ),
        ]
        .into();
        let steps = classify(
            vec![
                spec("design", "Write \"the\" design", &[]),
                spec("build", "Build <it>", &["design"]),
                spec("test", "", &["build", "legacy"]),
            ],
            &facts,
        );
        (steps, facts)
    }

    #[test]
    fn text_lists_steps_in_dependency_order_with_counts() {
        let (steps, _) = example();
        let out = text(&steps, &Counts::of(&steps));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID "), "{out}");
        assert!(lines[1].starts_with("design  complete"), "{out}");
        assert!(lines[2].contains("in_progress  bob"), "{out}");
        assert!(
            lines[3].contains("waiting") && lines[3].contains("build,legacy"),
            "{out}"
        );
        assert_eq!(
            *lines.last().unwrap(),
            "Plan: 3 steps: 1 complete · 1 in progress · 1 waiting"
        );
    }

    #[test]
    fn mermaid_nodes_show_id_title_and_status_and_edges_point_to_dependents() {
        let (steps, facts) = example();
        let out = mermaid(&steps, &facts);
        assert!(out.starts_with("flowchart TD\n"));
        assert!(out.contains("classDef complete fill:#c8e6c9"), "{out}");
        assert!(
            out.contains("s0[\"<b>design</b><br/>Write #quot;the#quot; design<br/><i>complete</i>\"]:::complete"),
            "{out}"
        );
        assert!(out.contains("Build #lt;it#gt;"), "{out}");
        assert!(
            out.contains("<i>in_progress · bob</i>\"]:::in_progress"),
            "{out}"
        );
        assert!(out.contains("  s0 --> s1\n"), "{out}");
        assert!(out.contains("  s1 --> s2"), "{out}");
        assert!(out.contains("x0[\"legacy<br/><i>not in the plan · unknown</i>\"]:::outside"));
        assert!(out.contains("  x0 --> s2"), "{out}");
    }

    #[test]
    fn dot_is_a_digraph_with_coloured_nodes_and_escaped_labels() {
        let (steps, facts) = example();
        let out = dot(&steps, &facts);
        assert!(out.starts_with("digraph plan {\n") && out.ends_with("\n}"));
        assert!(
            out.contains("\"design\" [label=\"design\\nWrite \\\"the\\\" design\\n[complete]\", fillcolor=\"#c8e6c9\""),
            "{out}"
        );
        assert!(out.contains("\"design\" -> \"build\";"), "{out}");
        assert!(out.contains("\"legacy\" -> \"test\";"), "{out}");
        assert!(out.contains("style=\"rounded,dashed\""), "{out}");
    }
}
