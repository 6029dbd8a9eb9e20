//! Every bucket key the tool touches is built here and nowhere else, so the layout of
//! contract section 2 (a wire format shared with the Python tool) has one home. Keys are
//! project-relative; backends add the `<project>/` prefix with [`scoped`]. Callers pass
//! identifiers already checked by [`crate::ids`].

/// The full object name of a project-relative key: `<project>/<key>`.
pub fn scoped(project: &str, key: &str) -> String {
    format!("{project}/{key}")
}

/// The project-relative key of a full object name, if it lies inside the project.
pub fn unscoped<'a>(project: &str, full: &'a str) -> Option<&'a str> {
    full.strip_prefix(project)?.strip_prefix('/')
}

/// Scratch keys for storage self-checks live under `_doctor/`, which no reader lists as
/// data (a leading `_` marks bookkeeping).
pub fn doctor_scratch(name: &str) -> String {
    format!("_doctor/{name}")
}

// --- agents -------------------------------------------------------------------------

pub const AGENTS_DIR: &str = "agents/";

pub fn agent(id: &str) -> String {
    format!("{AGENTS_DIR}{id}.json")
}

/// The agent id of a key under [`AGENTS_DIR`].
pub fn agent_of(key: &str) -> Option<&str> {
    let name = key.strip_prefix(AGENTS_DIR)?.strip_suffix(".json")?;
    (!name.is_empty() && !name.contains('/') && !name.starts_with('_')).then_some(name)
}

// --- memory -------------------------------------------------------------------------

pub const MEMORY_DIR: &str = "memory/";
const HISTORY_SEGMENT: &str = "_history";

/// The raw listing prefix of a dotted memory prefix: `memory/a/b` for `a.b`.
pub fn memory_prefix(dotted: &str) -> String {
    format!("{MEMORY_DIR}{}", dotted.replace('.', "/"))
}

/// `memory/a/b.json` for the dotted key `a.b`.
pub fn memory_value(dotted: &str) -> String {
    format!("{MEMORY_DIR}{}.json", dotted.replace('.', "/"))
}

/// The dotted memory key of a live-value key, or `None` for history and bookkeeping (a
/// last segment starting with `_`). Inner segments may start with `_` (`_team.notes`).
pub fn memory_key_of(key: &str) -> Option<String> {
    let path = key.strip_prefix(MEMORY_DIR)?.strip_suffix(".json")?;
    let segments: Vec<&str> = path.split('/').collect();
    if segments[0] == HISTORY_SEGMENT
        || segments.iter().any(|s| s.is_empty() || s.contains('.'))
        || segments.last()?.starts_with('_')
    {
        return None;
    }
    Some(path.replace('/', "."))
}

/// The directory holding one key's history snapshots.
pub fn memory_history_dir(dotted: &str) -> String {
    format!(
        "{MEMORY_DIR}{HISTORY_SEGMENT}/{}/",
        dotted.replace('.', "/")
    )
}

pub fn memory_history(dotted: &str, ts_ns: &str, agent: &str, uuid8: &str) -> String {
    format!("{}{ts_ns}_{agent}_{uuid8}.json", memory_history_dir(dotted))
}

// --- messages -----------------------------------------------------------------------

pub const BROADCAST: &str = "_broadcast";
const CURSOR_FILE: &str = "_cursor.json";

pub fn mailbox(recipient: &str) -> String {
    format!("messages/{recipient}/")
}

pub fn message(recipient: &str, ts_ns: &str, sender: &str, uuid8: &str) -> String {
    format!("{}{ts_ns}_{sender}_{uuid8}.json", mailbox(recipient))
}

pub fn cursor(agent: &str) -> String {
    format!("{}{CURSOR_FILE}", mailbox(agent))
}

/// The agent whose read cursor is stored at `key`, if it is one.
pub fn cursor_owner(key: &str) -> Option<&str> {
    let agent = key
        .strip_prefix("messages/")?
        .strip_suffix(&format!("/{CURSOR_FILE}"))?;
    (!agent.is_empty() && !agent.contains('/') && agent != BROADCAST).then_some(agent)
}

/// The parts of a message key, or `None` for bookkeeping (`_cursor.json`, any name
/// starting with `_`), nested keys and names that are not messages.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageKey<'a> {
    pub mailbox: &'a str,
    pub ts_ns: &'a str,
    pub sender: &'a str,
}

pub fn parse_message(key: &str) -> Option<MessageKey<'_>> {
    let rest = key.strip_prefix("messages/")?;
    let (mailbox, name) = rest.split_once('/')?;
    if name.contains('/') || name.starts_with('_') {
        return None;
    }
    let stem = name.strip_suffix(".json")?;
    let (ts_ns, rest) = stem.split_once('_')?;
    // Senders may contain `_`; the uuid part is the last one.
    let (sender, uuid) = rest.rsplit_once('_')?;
    if ts_ns.is_empty()
        || !ts_ns.bytes().all(|b| b.is_ascii_digit())
        || sender.is_empty()
        || uuid.is_empty()
    {
        return None;
    }
    Some(MessageKey {
        mailbox,
        ts_ns,
        sender,
    })
}

/// A message's id: its key's file stem, `<ts_ns>_<sender>_<uuid8>`.
pub fn message_id(key: &str) -> Option<&str> {
    parse_message(key)?;
    key.rsplit('/').next()?.strip_suffix(".json")
}

/// `(ts_ns, sender)` of a message id (or of any `<ts_ns>_<agent>_<uuid8>` stem).
pub fn parse_stem(stem: &str) -> Option<(i64, &str)> {
    let (ts_ns, rest) = stem.split_once('_')?;
    let (sender, uuid) = rest.rsplit_once('_')?;
    if ts_ns.is_empty() || !ts_ns.bytes().all(|b| b.is_ascii_digit()) || sender.is_empty() {
        return None;
    }
    if uuid.is_empty() || uuid.contains('.') {
        return None;
    }
    Some((ts_ns.parse().ok()?, sender))
}

// --- threads and acknowledgements ---------------------------------------------------

pub const THREADS_DIR: &str = "threads/";

/// `threads/<thread>/`
pub fn thread_dir(thread: &str) -> String {
    format!("{THREADS_DIR}{thread}/")
}

/// `threads/<thread>/<message-id>.json`: a create-once pointer to one message.
pub fn thread_entry(thread: &str, message_id: &str) -> String {
    format!("{}{message_id}.json", thread_dir(thread))
}

pub const ACKS_DIR: &str = "acks/";
const ACK_REQUEST_FILE: &str = "_request.json";

/// `acks/<message-id>/`
pub fn acks_dir(message_id: &str) -> String {
    format!("{ACKS_DIR}{message_id}/")
}

/// `acks/<message-id>/_request.json`: who must acknowledge the message.
pub fn ack_request(message_id: &str) -> String {
    format!("{}{ACK_REQUEST_FILE}", acks_dir(message_id))
}

/// `acks/<message-id>/<agent>.json`: one agent's acknowledgement.
pub fn ack(message_id: &str, agent: &str) -> String {
    format!("{}{agent}.json", acks_dir(message_id))
}

/// What a key under [`ACKS_DIR`] is: the message id, and the acknowledging agent (`None`
/// for the request).
pub fn parse_ack(key: &str) -> Option<(&str, Option<&str>)> {
    let (id, file) = key.strip_prefix(ACKS_DIR)?.split_once('/')?;
    if id.is_empty() || file.contains('/') {
        return None;
    }
    if file == ACK_REQUEST_FILE {
        return Some((id, None));
    }
    let agent = file.strip_suffix(".json")?;
    (!agent.is_empty() && !agent.starts_with('_')).then_some((id, Some(agent)))
}

// --- events -------------------------------------------------------------------------

pub const EVENTS_DIR: &str = "events/";

/// `events/<YYYY-MM-DD>/`
pub fn events_day(day: &str) -> String {
    format!("{EVENTS_DIR}{day}/")
}

/// `events/<YYYY-MM-DD>/<ts_ns>_<agent>_<uuid8>.json`
pub fn event(day: &str, ts_ns: &str, agent: &str, uuid8: &str) -> String {
    format!("{}{ts_ns}_{agent}_{uuid8}.json", events_day(day))
}

/// `(ts_ns, agent)` of an event key.
pub fn parse_event(key: &str) -> Option<(i64, &str)> {
    let (_day, name) = key.strip_prefix(EVENTS_DIR)?.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    parse_stem(name.strip_suffix(".json")?)
}

/// `(ts_ns)` of a memory history snapshot key, and the directory holding its siblings.
pub fn parse_history(key: &str) -> Option<(i64, &str)> {
    let rest = key
        .strip_prefix(MEMORY_DIR)?
        .strip_prefix(HISTORY_SEGMENT)?;
    rest.strip_prefix('/')?;
    let (dir, name) = key.rsplit_once('/')?;
    let (ts, _) = parse_stem(name.strip_suffix(".json")?)?;
    Some((ts, dir))
}

/// The prefix of every memory history snapshot.
pub fn memory_history_root() -> String {
    format!("{MEMORY_DIR}{HISTORY_SEGMENT}/")
}

// --- steps --------------------------------------------------------------------------

pub const STEPS_DIR: &str = "steps/";

pub fn step_claim(sid: &str) -> String {
    format!("{STEPS_DIR}{sid}/claim.json")
}

pub fn step_status(sid: &str) -> String {
    format!("{STEPS_DIR}{sid}/status.json")
}

pub fn step_handoff(sid: &str) -> String {
    format!("{STEPS_DIR}{sid}/handoff.json")
}

/// `steps/<sid>/spec.json`: the step's place in the plan (contract section 10).
pub fn step_spec(sid: &str) -> String {
    format!("{STEPS_DIR}{sid}/spec.json")
}

/// The step id and file name (`claim.json`, `spec.json`, ...) of a key directly inside a
/// step's directory.
pub fn step_file_of(key: &str) -> Option<(&str, &str)> {
    let (sid, file) = key.strip_prefix(STEPS_DIR)?.split_once('/')?;
    (!sid.is_empty() && !file.is_empty() && !file.contains('/')).then_some((sid, file))
}

/// The step id of any key under [`STEPS_DIR`].
pub fn step_of(key: &str) -> Option<&str> {
    let (sid, _) = key.strip_prefix(STEPS_DIR)?.split_once('/')?;
    (!sid.is_empty()).then_some(sid)
}

/// The step whose claim document `key` is.
pub fn claim_step_of(key: &str) -> Option<&str> {
    let sid = key.strip_prefix(STEPS_DIR)?.strip_suffix("/claim.json")?;
    (!sid.is_empty() && !sid.contains('/')).then_some(sid)
}

/// The step whose status document `key` is.
pub fn status_step_of(key: &str) -> Option<&str> {
    let sid = key.strip_prefix(STEPS_DIR)?.strip_suffix("/status.json")?;
    (!sid.is_empty() && !sid.contains('/')).then_some(sid)
}

// --- own-claims index (a hint; see claims/index.rs) ----------------------------------

pub const OWN_DIR: &str = "own/";
const SCANNED_MARKER: &str = "_scanned-";

/// `own/<agent>/`: everything the index keeps about one agent.
pub fn own_dir(agent: &str) -> String {
    format!("{OWN_DIR}{agent}/")
}

/// `own/<agent>/claims/<sid>.json`: the agent claimed (or is claiming) `sid`.
pub fn own_claim(agent: &str, sid: &str) -> String {
    format!("{}claims/{sid}.json", own_dir(agent))
}

/// The step of an index entry listed under [`own_dir`]`(agent)`.
pub fn own_claim_step_of<'a>(agent: &str, key: &'a str) -> Option<&'a str> {
    let rest = key.strip_prefix(OWN_DIR)?.strip_prefix(agent)?;
    let sid = rest.strip_prefix("/claims/")?.strip_suffix(".json")?;
    (!sid.is_empty() && !sid.contains('/')).then_some(sid)
}

/// `own/<agent>/_scanned-<ts_ns>.json`: the time of the agent's last full scan, in the
/// key, so that the index's one listing also says when the last scan was.
pub fn own_scanned(agent: &str, ts_ns: &str) -> String {
    format!("{}{SCANNED_MARKER}{ts_ns}.json", own_dir(agent))
}

/// The `ts_ns` of a scan marker listed under [`own_dir`]`(agent)`.
pub fn own_scanned_at<'a>(agent: &str, key: &'a str) -> Option<&'a str> {
    let rest = key.strip_prefix(OWN_DIR)?.strip_prefix(agent)?;
    let ts = rest.strip_prefix('/')?.strip_prefix(SCANNED_MARKER)?;
    let ts = ts.strip_suffix(".json")?;
    (!ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit())).then_some(ts)
}

// --- artifacts ----------------------------------------------------------------------

pub const ARTIFACTS_DIR: &str = "artifacts/";
const SHARED_ARTIFACTS: &str = "shared";

/// `artifacts/<sid>/` or `artifacts/shared/`.
pub fn artifacts_dir(sid: Option<&str>) -> String {
    format!("{ARTIFACTS_DIR}{}/", sid.unwrap_or(SHARED_ARTIFACTS))
}

pub fn artifact(sid: Option<&str>, name: &str) -> String {
    format!("{}{name}", artifacts_dir(sid))
}

// --- sessions -----------------------------------------------------------------------

pub const SESSIONS_DIR: &str = "sessions/";
const META_FILE: &str = "meta.json";

/// `sessions/<harness>/<session>/`
pub fn session_dir(harness: &str, session: &str) -> String {
    format!("{SESSIONS_DIR}{harness}/{session}/")
}

/// `sessions/<harness>/<session>/meta.json`
pub fn session_meta(harness: &str, session: &str) -> String {
    format!("{}{META_FILE}", session_dir(harness, session))
}

/// The file name `part-NNNNN-<uuid8>.jsonl` (at least five digits).
pub fn part_name(seq: u64, uuid8: &str) -> String {
    format!("part-{seq:05}-{uuid8}.jsonl")
}

/// `sessions/<harness>/<session>/part-NNNNN-<uuid8>.jsonl`
pub fn session_part(harness: &str, session: &str, seq: u64, uuid8: &str) -> String {
    format!("{}{}", session_dir(harness, session), part_name(seq, uuid8))
}

/// `(seq, uuid8)` of a part's key or file name.
pub fn part_of(key: &str) -> Option<(u64, &str)> {
    let name = key.rsplit('/').next()?;
    let rest = name.strip_prefix("part-")?.strip_suffix(".jsonl")?;
    let (digits, uuid8) = rest.split_once('-')?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if uuid8.len() != 8 || !uuid8.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((digits.parse().ok()?, uuid8))
}

/// `(harness, session)` of a `sessions/<harness>/<session>/meta.json` key.
pub fn meta_of(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(SESSIONS_DIR)?.strip_suffix(META_FILE)?;
    let rest = rest.strip_suffix('/')?;
    let (harness, session) = rest.split_once('/')?;
    (!harness.is_empty() && !session.is_empty() && !session.contains('/'))
        .then_some((harness, session))
}

// --- reservations -------------------------------------------------------------------

/// The one document deciding every path reservation (contract section 12).
/// Everything of the path reservations (section 12): one document.
pub const RESERVATIONS_DIR: &str = "reservations/";

pub fn reservations_index() -> String {
    "reservations/index.json".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoping_round_trips_and_rejects_other_projects() {
        let full = scoped("demo", "steps/a/claim.json");
        assert_eq!(full, "demo/steps/a/claim.json");
        assert_eq!(unscoped("demo", &full), Some("steps/a/claim.json"));
        assert_eq!(unscoped("dem", &full), None);
        assert_eq!(unscoped("demo2", &full), None);
    }

    #[test]
    fn own_index_keys_round_trip_and_stay_inside_their_agent() {
        assert_eq!(own_claim("a-1", "build"), "own/a-1/claims/build.json");
        assert_eq!(
            own_claim_step_of("a-1", "own/a-1/claims/build.json"),
            Some("build")
        );
        assert_eq!(own_claim_step_of("a", "own/a-1/claims/build.json"), None);
        let m = own_scanned("a-1", "1764700000000000000");
        assert_eq!(m, "own/a-1/_scanned-1764700000000000000.json");
        assert_eq!(own_scanned_at("a-1", &m), Some("1764700000000000000"));
        assert_eq!(own_scanned_at("a", &m), None);
        assert_eq!(status_step_of("steps/x/status.json"), Some("x"));
        assert_eq!(status_step_of("steps/x/claim.json"), None);
    }

    #[test]
    fn layout_matches_the_contract() {
        assert_eq!(agent("a-1"), "agents/a-1.json");
        assert_eq!(agent_of("agents/a-1.json"), Some("a-1"));
        assert_eq!(agent_of("agents/x/y.json"), None);
        assert_eq!(memory_value("design.api"), "memory/design/api.json");
        assert_eq!(
            memory_key_of("memory/design/api.json").as_deref(),
            Some("design.api")
        );
        assert_eq!(memory_key_of("memory/_history/design/api/1_a_b.json"), None);
        assert_eq!(
            memory_key_of("memory/_team/notes.json").as_deref(),
            Some("_team.notes")
        );
        assert_eq!(memory_key_of("memory/team/_cursor.json"), None);
        assert_eq!(memory_prefix("design.api"), "memory/design/api");
        assert_eq!(
            memory_history("design.api", "1795256922017355000", "alice", "0a1b2c3d"),
            "memory/_history/design/api/1795256922017355000_alice_0a1b2c3d.json"
        );
        assert_eq!(cursor("bob"), "messages/bob/_cursor.json");
        assert_eq!(cursor_owner("messages/bob/_cursor.json"), Some("bob"));
        assert_eq!(cursor_owner("messages/_broadcast/_cursor.json"), None);
        assert_eq!(cursor_owner("messages/bob/1_a_b.json"), None);
        assert_eq!(step_claim("phase-one"), "steps/phase-one/claim.json");
        assert_eq!(step_of("steps/phase-one/status.json"), Some("phase-one"));
        assert_eq!(
            claim_step_of("steps/phase-one/claim.json"),
            Some("phase-one")
        );
        assert_eq!(claim_step_of("steps/phase-one/status.json"), None);
        assert_eq!(step_spec("phase-one"), "steps/phase-one/spec.json");
        assert_eq!(
            step_file_of("steps/phase-one/spec.json"),
            Some(("phase-one", "spec.json"))
        );
        assert_eq!(step_file_of("steps/a/artifacts/spec.json"), None);
        assert_eq!(claim_step_of("steps/a/artifacts/claim.json"), None);
        assert_eq!(artifact(None, "r.txt"), "artifacts/shared/r.txt");
        assert_eq!(artifact(Some("s1"), "r.txt"), "artifacts/s1/r.txt");
        assert_eq!(reservations_index(), "reservations/index.json");
    }

    #[test]
    fn message_keys_parse_with_underscored_senders() {
        let key = message("bob", "1795256922017355000", "my_agent", "0a1b2c3d");
        assert_eq!(
            key,
            "messages/bob/1795256922017355000_my_agent_0a1b2c3d.json"
        );
        let parsed = parse_message(&key).unwrap();
        assert_eq!(parsed.sender, "my_agent");
        assert_eq!(parsed.mailbox, "bob");
        assert_eq!(parse_message("messages/bob/_cursor.json"), None);
        assert_eq!(parse_message("messages/bob/nested/1_a_b.json"), None);
        assert_eq!(parse_message("messages/bob/notes.txt"), None);
    }

    #[test]
    fn ids_threads_acks_and_events_round_trip() {
        let key = message("bob", "1795256922017355000", "my_agent", "0a1b2c3d");
        assert_eq!(
            message_id(&key),
            Some("1795256922017355000_my_agent_0a1b2c3d")
        );
        assert_eq!(message_id("messages/bob/_cursor.json"), None);
        assert_eq!(
            parse_stem("1795256922017355000_my_agent_0a1b2c3d"),
            Some((1_795_256_922_017_355_000, "my_agent"))
        );
        assert_eq!(
            thread_entry("t1", "1_a_b"),
            "threads/t1/1_a_b.json".to_string()
        );
        assert_eq!(ack_request("1_a_b"), "acks/1_a_b/_request.json");
        assert_eq!(parse_ack("acks/1_a_b/_request.json"), Some(("1_a_b", None)));
        assert_eq!(
            parse_ack(&ack("1_a_b", "bob")),
            Some(("1_a_b", Some("bob")))
        );
        assert_eq!(parse_ack("acks/1_a_b/x/y.json"), None);
        let e = event("2026-12-03", "1795256922017355000", "alice", "0a1b2c3d");
        assert_eq!(
            e,
            "events/2026-12-03/1795256922017355000_alice_0a1b2c3d.json"
        );
        assert_eq!(parse_event(&e), Some((1_795_256_922_017_355_000, "alice")));
        let h = memory_history("design.api", "1795256922017355000", "alice", "0a1b2c3d");
        assert_eq!(
            parse_history(&h),
            Some((1_795_256_922_017_355_000, "memory/_history/design/api"))
        );
        assert_eq!(parse_history("memory/design/api.json"), None);
    }

    #[test]
    fn part_keys_round_trip() {
        let key = session_part("codex", "abc", 7, "0123abcd");
        assert_eq!(key, "sessions/codex/abc/part-00007-0123abcd.jsonl");
        assert_eq!(part_of(&key), Some((7, "0123abcd")));
        assert_eq!(
            part_of("sessions/c/a/part-123456-0123abcd.jsonl"),
            Some((123456, "0123abcd"))
        );
        assert_eq!(part_of("sessions/c/a/part-1-0123abcd.jsonl"), None);
        assert_eq!(part_of("sessions/c/a/meta.json"), None);
        assert_eq!(
            meta_of("sessions/codex/abc/meta.json"),
            Some(("codex", "abc"))
        );
        assert_eq!(meta_of("sessions/codex/meta.json"), None);
    }
}
