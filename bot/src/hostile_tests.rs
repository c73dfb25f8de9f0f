//! Hostile webhook deliveries: anyone who can reach the server can send a body (the
//! signature is checked first, but a payload GitHub relays still carries text users wrote).
//! `events::parse` must turn any body into an event or a `PayloadError` naming the event,
//! never panic, and stay bounded on deep or huge JSON.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use crate::events::{Event, parse};

/// `ci_cases`, or `PROPTEST_CASES` for a longer campaign.
fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(ci_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

const EVENTS: &[&str] = &[
    "ping",
    "pull_request",
    "pull_request_review",
    "issue_comment",
    "check_run",
    "check_suite",
    "installation",
    "installation_repositories",
    "push",
    "",
    "PULL_REQUEST",
];

/// The fixture deliveries, as (event, payload).
fn payloads() -> &'static [(String, Value)] {
    static PAYLOADS: std::sync::OnceLock<Vec<(String, Value)>> = std::sync::OnceLock::new();
    PAYLOADS.get_or_init(|| {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/github/payloads");
        let mut found = Vec::new();
        for event in std::fs::read_dir(&root)
            .expect("fixtures/github/payloads")
            .flatten()
        {
            let name = event.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(event.path())
                .expect("an event folder")
                .flatten()
            {
                let text = std::fs::read_to_string(file.path()).expect("a payload");
                found.push((
                    name.clone(),
                    serde_json::from_str(&text).expect("a JSON payload"),
                ));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(found.len() >= 8, "{} payloads", found.len());
        found
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300..1e300f64).prop_map(Value::from),
        prop::sample::select(
            &[
                "",
                "a/b",
                "a/b/c",
                "/",
                "owner/",
                "/modelgate rerun",
                "/modelgate accept-risk ok",
                "opened",
                "synchronize",
                "closed",
                "rerequested",
                "created",
                "submitted",
                "\u{0}",
                "é",
            ][..]
        )
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// One change to a payload: a value at a path replaced, or a key removed.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = prop::collection::vec(any::<usize>(), 1..5);
    prop_oneof![
        3 => (path.clone(), any_json()).prop_map(|(path, value)| Mutation::Replace(path, value)),
        1 => path.prop_map(Mutation::Remove),
    ]
}

fn mutate(value: &mut Value, mutation: &Mutation) {
    let (path, replacement) = match mutation {
        Mutation::Replace(path, value) => (path.as_slice(), Some(value)),
        Mutation::Remove(path) => (path.as_slice(), None),
    };
    mutate_at(value, path, replacement);
}

/// Follows `path` (each step an index into what is there) and replaces or removes the last.
fn mutate_at(value: &mut Value, path: &[usize], replacement: Option<&Value>) {
    let Some((&choice, rest)) = path.split_first() else {
        if let Some(new) = replacement {
            *value = new.clone();
        }
        return;
    };
    match value {
        Value::Object(entries) if !entries.is_empty() => {
            let key = entries
                .keys()
                .nth(choice % entries.len())
                .cloned()
                .unwrap_or_default();
            match (rest.is_empty(), replacement) {
                (true, None) => {
                    entries.remove(&key);
                }
                _ => {
                    if let Some(next) = entries.get_mut(&key) {
                        mutate_at(next, rest, replacement);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let index = choice % items.len();
            match (rest.is_empty(), replacement) {
                (true, None) => {
                    items.remove(index);
                }
                _ => mutate_at(&mut items[index], rest, replacement),
            }
        }
        other => {
            if let Some(new) = replacement {
                *other = new.clone();
            }
        }
    }
}

/// Parses within a generous time bound; an error names the event.
fn parse_checked(event: &str, body: &[u8]) -> Option<Event> {
    let started = Instant::now();
    let outcome = parse(event, body);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{event}: {:?}",
        started.elapsed()
    );
    match outcome {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            assert!(
                error.to_string().starts_with(&format!("{event} payload: ")),
                "{error}"
            );
            None
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_fixture_payloads_parse_or_name_the_event(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
        retarget in prop::option::of(prop::sample::select(EVENTS)),
    ) {
        let (event, payload) = &payloads()[index.index(payloads().len())];
        let mut payload = payload.clone();
        for mutation in &mutations {
            mutate(&mut payload, mutation);
        }
        let event = retarget.unwrap_or(event);
        let body = serde_json::to_vec(&payload).expect("serializable");
        if let Some(Event::Evaluate { repo, .. } | Event::EvaluateMany { repo, .. } | Event::Merged { repo, .. }) =
            parse_checked(event, &body)
        {
            // Only an `owner/name` repository gets as far as an evaluation.
            prop_assert!(!repo.name.owner.is_empty() && !repo.name.name.is_empty());
            prop_assert!(!repo.name.name.contains('/'));
        }
    }

    #[test]
    fn arbitrary_bodies_parse_or_name_the_event(
        event in prop::sample::select(EVENTS),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        parse_checked(event, &body);
    }

    /// A comment is a command exactly when it starts with `/modelgate rerun` or
    /// `/modelgate accept-risk` as a whole word (after blank space), on a pull request, when
    /// created, edited or deleted.
    #[test]
    fn comment_commands_are_recognised_exactly(
        before in prop::sample::select(&["", " ", "\n\t", "\u{3000}", "x"][..]),
        command in prop::sample::select(&[
            "/modelgate rerun", "/modelgate accept-risk", "/modelgate", "/modelgate  rerun",
            "/MODELGATE rerun", "modelgate rerun", "/modelgate rerunning", "",
        ][..]),
        after in "\\PC{0,30}",
        action in prop::sample::select(&["created", "edited", "deleted", ""][..]),
        on_pull_request in any::<bool>(),
    ) {
        let body = format!("{before}{command}{after}");
        let mut payload = json!({
            "action": action,
            "issue": {"number": 5},
            "comment": {"body": body},
            "repository": {"full_name": "acme/models"},
        });
        if on_pull_request {
            payload["issue"]["pull_request"] = json!({"url": "x"});
        }
        let parsed = parse_checked("issue_comment", payload.to_string().as_bytes());
        let trimmed = body.trim_start();
        let verb = ["rerun", "accept-risk"].into_iter().find(|verb| {
            trimmed
                .strip_prefix(&format!("/modelgate {verb}"))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
        });
        let expected = verb.is_some()
            && matches!(action, "created" | "edited" | "deleted")
            && on_pull_request;
        match parsed {
            Some(Event::Evaluate { why, head, .. }) => {
                prop_assert!(expected, "{body:?} {action} evaluated");
                prop_assert!(head.is_none());
                prop_assert_eq!(why, format!("/modelgate {} ({action})", verb.unwrap_or_default()));
            }
            Some(Event::Ignored(_)) => prop_assert!(!expected, "{body:?} {action} ignored"),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

#[test]
fn deep_and_huge_payloads_are_bounded() {
    let depth = 10_000;
    let (_, opened) = payloads()
        .iter()
        .find(|(event, payload)| event == "pull_request" && payload["action"] == "opened")
        .expect("an opened pull request");
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let text = opened.to_string();
    let with_deep_changes = format!(
        "{}, \"changes\": {deep}}}",
        text.trim_end().trim_end_matches('}')
    );
    assert!(
        parse_checked("pull_request", with_deep_changes.as_bytes()).is_none(),
        "nesting past the limit"
    );
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for event in EVENTS {
        parse_checked(event, deep_objects.as_bytes());
        parse_checked(event, deep.as_bytes());
    }

    let mut huge = opened.clone();
    huge["pull_request"]["body"] = Value::from("x".repeat(16 << 20));
    let body = serde_json::to_vec(&huge).expect("serializable");
    assert!(matches!(
        parse_checked("pull_request", &body),
        Some(Event::Evaluate { .. })
    ));

    for full_name in ["", "/", "a/", "/b", "a/b/c", "a"] {
        let mut payload = opened.clone();
        payload["repository"]["full_name"] = Value::from(full_name);
        let error = parse("pull_request", payload.to_string().as_bytes()).expect_err(full_name);
        assert!(error.message.contains("owner/name"), "{error}");
    }
}
