//! JSON from outside: `metrics.json` and the pull request's facts (`--pr-facts`).

use modelgate_core::Diagnostic;
use modelgate_core::approvals::PrFacts;
use modelgate_core::metrics_file::parse_metrics;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{ADVERSARIAL_LIMIT, config, line_count, within};

/// Any JSON value a few levels deep, with keys the parsers know.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        let key = prop_oneof![
            prop::sample::select(
                &[
                    "author",
                    "number",
                    "head_sha",
                    "reviews",
                    "comments",
                    "user",
                    "login",
                    "id",
                    "state",
                    "body",
                    "created_at",
                    "team_members",
                    "commit_authors",
                    "auc",
                ][..]
            )
            .prop_map(str::to_owned),
            "\\PC{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a path chosen by `choices` with `replacement`.
pub fn replace_somewhere(value: &mut Value, choices: &[usize], replacement: Value) {
    match (value, choices.split_first()) {
        (Value::Array(items), Some((&choice, rest))) if !items.is_empty() => {
            let index = choice % items.len();
            replace_somewhere(&mut items[index], rest, replacement);
        }
        (Value::Object(entries), Some((&choice, rest))) if !entries.is_empty() => {
            let index = choice % entries.len();
            if let Some(next) = entries.values_mut().nth(index) {
                replace_somewhere(next, rest, replacement);
            }
        }
        (value, _) => *value = replacement,
    }
}

fn assert_in_text(diagnostic: &Diagnostic, file: &str, text: &str) {
    assert_eq!(diagnostic.file, file, "{diagnostic}");
    assert!(
        diagnostic.line <= line_count(text),
        "{diagnostic} past the end"
    );
    assert!(!diagnostic.message.is_empty(), "{diagnostic:?}");
}

fn facts_json() -> Value {
    json!({
        "number": 7,
        "author": "ann",
        "head_sha": "2222222222222222222222222222222222222222",
        "head_pushed_at": "2026-03-01T12:00:00Z",
        "commit_authors": ["ann", "bob"],
        "reviews": [
            {"id": 1, "user": {"login": "bob"}, "state": "APPROVED",
             "commit_id": "2222222222222222222222222222222222222222",
             "submitted_at": "2026-03-01T13:00:00Z"},
            {"id": 2, "user": null, "state": "CHANGES_REQUESTED", "commit_id": null, "submitted_at": null}
        ],
        "team_members": {"acme/model-risk": ["dan", "erin"]},
        "comments": [
            {"id": 10, "user": {"login": "dan"}, "body": "/modelgate accept-risk seasonal",
             "created_at": "2026-03-01T14:00:00Z"}
        ]
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// A flat object of finite numbers is read exactly, in order.
    #[test]
    fn metrics_round_trip(metrics in prop::collection::vec(("\\PC{0,12}", -1e300..1e300f64), 0..12)) {
        let mut unique = indexmap::IndexMap::new();
        for (name, value) in metrics {
            unique.insert(name, value);
        }
        let text = serde_json::to_string_pretty(&unique).expect("serializable");
        let parsed = parse_metrics("metrics.json", text.as_bytes()).expect("valid metrics");
        prop_assert!(parsed.keys().eq(unique.keys()));
        // serde_json reads a decimal to within a unit in the last place, not always exactly.
        for (read, written) in parsed.values().zip(unique.values()) {
            prop_assert!((read - written).abs() <= written.abs() * 4.0 * f64::EPSILON, "{read} for {written}");
        }
    }

    #[test]
    fn any_json_is_metrics_or_a_placed_error(value in json_value()) {
        let text = serde_json::to_string_pretty(&value).expect("serializable");
        if let Err(error) = parse_metrics("m/metrics.json", text.as_bytes()) {
            assert_in_text(&error, "m/metrics.json", &text);
        }
    }

    #[test]
    fn any_bytes_are_metrics_or_a_placed_error(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(error) = parse_metrics("metrics.json", &bytes) {
            prop_assert_eq!(error.file, "metrics.json");
        }
    }

    #[test]
    fn mutated_facts_are_read_or_a_placed_error(
        paths in prop::collection::vec((prop::collection::vec(any::<usize>(), 0..5), json_value()), 1..4),
    ) {
        let mut facts = facts_json();
        for (path, replacement) in paths {
            replace_somewhere(&mut facts, &path, replacement);
        }
        let text = serde_json::to_string_pretty(&facts).expect("serializable");
        if let Err(error) = PrFacts::from_json("facts.json", &text) {
            assert_in_text(&error, "facts.json", &text);
        }
    }

    #[test]
    fn facts_fields_are_read_as_written(
        author in "\\PC{0,20}",
        commit_authors in prop::collection::vec("\\PC{0,10}", 0..5),
        number in any::<Option<u64>>(),
    ) {
        let mut facts = facts_json();
        facts["author"] = json!(author);
        facts["commit_authors"] = json!(commit_authors);
        facts["number"] = json!(number);
        let parsed = PrFacts::from_json("facts.json", &facts.to_string()).expect("valid facts");
        prop_assert_eq!(parsed.author, author);
        prop_assert_eq!(parsed.commit_authors, commit_authors);
        prop_assert_eq!(parsed.number, number);
    }
}

#[test]
fn deep_and_huge_json_is_refused_or_read_in_bounded_time() {
    let depth = 10_000;
    let deep_arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for (what, text) in [("deep arrays", deep_arrays), ("deep objects", deep_objects)] {
        let metrics_text = text.clone();
        let error = within(what, ADVERSARIAL_LIMIT, move || {
            parse_metrics("metrics.json", metrics_text.as_bytes())
        })
        .expect_err("not flat metrics");
        assert_eq!(error.file, "metrics.json");
        let facts_text =
            format!("{{\"author\": \"a\", \"reviews\": [{{\"id\": 1, \"state\": {text}}}]}}");
        let error = within(what, ADVERSARIAL_LIMIT, move || {
            PrFacts::from_json("facts.json", &facts_text)
        })
        .expect_err("refused");
        assert_eq!(
            (error.file.as_str(), error.line),
            ("facts.json", 1),
            "{error}"
        );
    }

    // A huge line: one 8 MB comment body is read as it is.
    let body = "x".repeat(8 << 20);
    let text = json!({"author": "a", "comments": [{"id": 1, "user": null, "body": body, "created_at": "x"}]})
        .to_string();
    let facts = within("a huge comment", ADVERSARIAL_LIMIT, move || {
        PrFacts::from_json("f.json", &text)
    })
    .expect("valid facts");
    assert_eq!(
        facts.comments[0].body.as_ref().map(String::len),
        Some(8 << 20)
    );

    // Many metrics: a million entries are read (bounded by the input's size).
    let many: String = (0..1_000_000)
        .map(|i| format!("\"m{i}\": {i}.5,"))
        .collect();
    let text = format!("{{{}\"last\": 1}}", many);
    let metrics = within("a million metrics", ADVERSARIAL_LIMIT, move || {
        parse_metrics("metrics.json", text.as_bytes())
    })
    .expect("valid metrics");
    assert_eq!(metrics.len(), 1_000_001);

    let error = parse_metrics("metrics.json", b"{\"auc\": 1e999}").expect_err("infinite");
    assert_eq!((error.line, error.column), (1, 13), "{error}");
}
