//! Unit tests of the Hugging Face backend's pure parts: listings, times, versions, names.

use super::*;

fn files(paths: &[&str]) -> Vec<TreeFile> {
    paths
        .iter()
        .map(|p| (p.to_string(), 1, None, None))
        .collect()
}

fn keys_of(entries: &[ListEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn the_listing_dir_encloses_every_match() {
    assert_eq!(listing_dir("proj/"), "proj");
    assert_eq!(listing_dir("proj/memory/des"), "proj/memory");
    assert_eq!(listing_dir("proj/a/b/"), "proj/a/b");
    assert_eq!(listing_dir("proj/steps"), "proj");
}

#[test]
fn a_prefix_is_a_raw_string_prefix() {
    let got = filter_listing(
        "proj",
        "memory/des",
        None,
        files(&[
            "proj/memory/design/x",
            "proj/memory/desk",
            "proj/memory/other",
        ]),
    );
    assert_eq!(keys_of(&got), ["memory/design/x", "memory/desk"]);
}

#[test]
fn a_prefix_ending_in_a_slash_does_not_match_a_longer_segment() {
    let got = filter_listing(
        "proj",
        "a/b/",
        None,
        files(&["proj/a/bc/x", "proj/a/b/y", "proj/a/b"]),
    );
    assert_eq!(keys_of(&got), ["a/b/y"]);
}

#[test]
fn other_projects_that_share_the_name_prefix_are_left_out() {
    let got = filter_listing(
        "proj",
        "",
        None,
        files(&["proj2/a", "proj/a", "projx", "other/proj/b"]),
    );
    assert_eq!(keys_of(&got), ["a"]);
}

#[test]
fn start_after_is_strict_and_output_sorted_without_duplicates() {
    let got = filter_listing(
        "p",
        "",
        Some("b"),
        files(&["p/d", "p/b", "p/c", "p/a", "p/c", "p/b0"]),
    );
    assert_eq!(keys_of(&got), ["b0", "c", "d"]);
}

#[test]
fn bucket_ids_need_exactly_a_namespace_and_a_name() {
    assert_eq!(
        split_bucket_id("alice/agents").unwrap(),
        ("alice", "agents")
    );
    for bad in ["alice", "/agents", "alice/", "alice/a/b", ""] {
        assert!(split_bucket_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn conditional_writes_are_refused_not_downgraded() {
    refuse_conditional(&PutMode::Overwrite).unwrap();
    for mode in [PutMode::Create, PutMode::UpdateIfVersion(Version::new("x"))] {
        assert!(matches!(
            refuse_conditional(&mode),
            Err(StoreError::NotSupported { backend: "hf", .. })
        ));
    }
}

#[test]
fn a_public_bucket_warns_when_private_was_asked() {
    assert_eq!(visibility_notes("a/b", true, true), ["visibility: private"]);
    let notes = visibility_notes("a/b", true, false);
    assert_eq!(notes[0], "visibility: public");
    assert!(notes[1].starts_with("warning:") && notes[1].contains("PUBLIC"));
    assert_eq!(
        visibility_notes("a/b", false, false),
        ["visibility: public"]
    );
}

#[test]
fn times_prefer_the_upload_time_and_versions_the_hash() {
    let t = entry_time(
        Some("2026-01-02T03:04:05.000Z"),
        Some("1999-01-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(t.to_rfc3339(), "2026-01-02T03:04:05+00:00");
    assert!(entry_time(None, Some("2026-01-02T03:04:05Z")).is_some());
    assert!(entry_time(Some("garbage"), None).is_none());
    assert_eq!(entry_version("abc", 3, None).as_str(), "abc");
    assert_ne!(
        entry_version("", 3, Some("t1")),
        entry_version("", 3, Some("t2"))
    );
}

#[test]
fn the_default_gateway_is_per_namespace() {
    assert_eq!(
        default_gateway_endpoint("alice/agents"),
        "https://s3.hf.co/alice"
    );
}
