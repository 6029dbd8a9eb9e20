//! Every bucket key the tool touches is built here and nowhere else, so the layout of
//! contract section 2 (a wire format shared with the Python tool) has one home.

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
}
