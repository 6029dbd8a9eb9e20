use super::*;
use crate::plan::spec::StepInput;

fn spec(id: &str, after: &[&str], priority: u8, created_at: &str) -> Spec {
    Spec {
        id: id.into(),
        name: id.to_uppercase(),
        title: format!("title of {id}"),
        after: after.iter().map(|s| s.to_string()).collect(),
        labels: vec![],
        priority,
        description: String::new(),
        created_by: Some("alice".into()),
        created_at: Some(created_at.into()),
        updated_at: None,
        extra: Default::default(),
    }
}

fn def(id: &str, after: &[&str]) -> StepDef {
    StepInput {
        id: id.into(),
        after: after.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .check()
    .unwrap()
}

fn facts(state: &str, holder: Option<&str>, claimable: bool) -> Facts {
    Facts {
        state: state.into(),
        holder: holder.map(str::to_string),
        claimable,
    }
}

#[test]
fn validation_names_unknown_steps_duplicates_and_cycles() {
    let none = BTreeMap::new();
    let known: HashSet<String> = ["legacy".to_string()].into();
    assert!(validate(&none, &[def("a", &[]), def("b", &["a", "legacy"])], &known).is_ok());

    let err = validate(&none, &[def("a", &["ghost"])], &known).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 'a' comes after 'ghost', which is not a known step"
    );

    let err = validate(&none, &[def("a", &[]), def("A", &[])], &known).unwrap_err();
    assert!(matches!(err, PlanError::Duplicate { .. }), "{err}");

    let err = validate(
        &none,
        &[
            def("a", &["c"]),
            def("b", &["a"]),
            def("c", &["b"]),
            def("d", &[]),
        ],
        &known,
    )
    .unwrap_err();
    let PlanError::Cycle { path } = &err else {
        panic!("{err}")
    };
    assert_eq!(path.first(), path.last());
    assert_eq!(path.len(), 4, "{path:?}");
    // In work order: each step comes before the next.
    for w in path.windows(2) {
        let after_of = |id: &str| match id {
            "a" => "c",
            "b" => "a",
            "c" => "b",
            _ => unreachable!(),
        };
        assert_eq!(after_of(&w[1]), w[0], "{path:?}");
    }
    assert!(err.to_string().starts_with("the plan would have a cycle: "));

    // A cycle closed through a stored spec is found too.
    let stored: BTreeMap<String, Spec> = [("x".to_string(), spec("x", &["y"], 2, "t"))].into();
    let err = validate(&stored, &[def("y", &["x"])], &HashSet::new()).unwrap_err();
    assert!(matches!(err, PlanError::Cycle { .. }), "{err}");
}

#[test]
fn dependency_order_puts_prerequisites_first_and_urgent_work_early() {
    let specs = vec![
        spec("deploy", &["test"], 0, "t1"),
        spec("test", &["build"], 2, "t1"),
        spec("build", &[], 2, "t2"),
        spec("docs", &[], 3, "t0"),
        spec("hotfix", &[], 0, "t9"),
    ];
    let order: Vec<String> = dependency_order(specs).into_iter().map(|s| s.id).collect();
    assert_eq!(order, ["hotfix", "build", "test", "deploy", "docs"]);
}

#[test]
fn readiness_table() {
    // (case, the step's facts, its dependency's facts, expected category)
    let table = [
        (
            "no documents, dep complete",
            None,
            Some(facts("complete", None, false)),
            Category::Ready,
        ),
        ("no documents, dep pending", None, None, Category::Waiting),
        (
            "released, dep complete",
            Some(facts("pending", None, true)),
            Some(facts("complete", None, false)),
            Category::Ready,
        ),
        (
            "expired lease, dep complete",
            Some(facts("in_progress", Some("bob"), true)),
            Some(facts("complete", None, false)),
            Category::Ready,
        ),
        (
            "live claim",
            Some(facts("in_progress", Some("bob"), false)),
            Some(facts("complete", None, false)),
            Category::InProgress,
        ),
        (
            "claimed by name before its dep",
            Some(facts("in_progress", Some("bob"), false)),
            None,
            Category::InProgress,
        ),
        (
            "complete",
            Some(facts("complete", None, false)),
            None,
            Category::Complete,
        ),
        (
            "blocked",
            Some(facts("blocked", Some("bob"), false)),
            None,
            Category::Blocked,
        ),
        (
            "needs review",
            Some(facts("needs_review", None, false)),
            None,
            Category::NeedsReview,
        ),
        (
            "dep in progress",
            None,
            Some(facts("in_progress", Some("bob"), false)),
            Category::Waiting,
        ),
        (
            "dep needs review",
            None,
            Some(facts("needs_review", None, false)),
            Category::Waiting,
        ),
    ];
    for (case, own, dep, expected) in table {
        let mut f = HashMap::new();
        if let Some(own) = own {
            f.insert("step".to_string(), own);
        }
        if let Some(dep) = dep {
            f.insert("dep".to_string(), dep);
        }
        let steps = classify(vec![spec("step", &["dep"], 2, "t")], &f);
        assert_eq!(steps[0].category, expected, "{case}");
        assert_eq!(
            steps[0].waiting_on.is_empty(),
            f.get("dep").is_some_and(|d| d.state == "complete"),
            "{case}"
        );
    }
}

#[test]
fn ready_steps_go_by_priority_then_age_then_id() {
    let specs = vec![
        spec("c", &[], 2, "2026-01-01T00:00:02"),
        spec("b", &[], 2, "2026-01-01T00:00:01"),
        spec("a", &[], 2, "2026-01-01T00:00:01"),
        spec("z", &[], 1, "2026-01-01T00:00:09"),
        spec("w", &["a"], 0, "2026-01-01T00:00:00"),
    ];
    let steps = classify(specs, &HashMap::new());
    let ids: Vec<&str> = ready(&steps, None).iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["z", "a", "b", "c"]);
    assert_eq!(
        Counts::of(&steps).line(),
        "5 steps: 0 complete · 4 ready · 1 waiting"
    );
}

#[test]
fn outlook_tells_later_from_stuck_from_complete() {
    let specs = || {
        vec![
            spec("a", &[], 2, "t"),
            spec("b", &["a"], 2, "t"),
            spec("c", &["b"], 2, "t"),
        ]
    };
    let look =
        |f: &HashMap<String, Facts>, label: Option<&str>| outlook(&classify(specs(), f), f, label);
    let mut f = HashMap::new();
    assert_eq!(look(&f, None), Outlook::Ready);
    f.insert("a".into(), facts("in_progress", Some("bob"), false));
    assert_eq!(look(&f, None), Outlook::Later, "bob may finish a");
    f.insert("a".into(), facts("blocked", Some("bob"), false));
    assert_eq!(
        look(&f, None),
        Outlook::Stuck {
            stuck_on: vec!["A".into()]
        }
    );
    f.insert("a".into(), facts("needs_review", None, false));
    assert_eq!(look(&f, None), Outlook::Later, "a reviewer may complete a");
    for s in ["a", "b", "c"] {
        f.insert(s.into(), facts("complete", None, false));
    }
    assert_eq!(look(&f, None), Outlook::Complete);
    assert_eq!(look(&f, Some("nothing-has-it")), Outlook::Complete);

    // Waiting on a step outside the plan that nobody knows: stuck; once it has a claim,
    // its holder may complete it.
    let specs = vec![spec("d", &["legacy"], 2, "t")];
    let mut f = HashMap::new();
    assert!(matches!(
        outlook(&classify(specs.clone(), &f), &f, None),
        Outlook::Stuck { .. }
    ));
    f.insert("legacy".into(), facts("in_progress", Some("py"), false));
    assert_eq!(outlook(&classify(specs, &f), &f, None), Outlook::Later);
}

#[test]
fn counts_line_keeps_zero_complete_and_leaves_out_other_zeros() {
    let c = Counts {
        complete: 3,
        in_progress: 2,
        ready: 0,
        waiting: 1,
        blocked: 0,
        needs_review: 0,
    };
    assert_eq!(c.line(), "6 steps: 3 complete · 2 in progress · 1 waiting");
    assert_eq!(c.total(), 6);
}
