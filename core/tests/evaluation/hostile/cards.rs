//! Model cards (`models/<id>/card.md`): front matter in the Hub's YAML dialect, read into the
//! Hub's metadata and modelgate's `governance`, and a Markdown body.

use modelgate_core::Diagnostic;
use modelgate_core::card::Card;
use proptest::prelude::*;

use super::yaml_gen::{self, Yaml, entry, list_of, mapping, scalar, scalar_of};
use super::{
    ADVERSARIAL_LIMIT, apply, config, edit, fixture_text, fixture_texts, line_count, within,
};

const FILE: &str = "models/m/card.md";

const CARD_KEYS: &[&str] = &[
    "license",
    "license_name",
    "license_link",
    "tags",
    "datasets",
    "base_model",
    "language",
    "metrics",
    "library_name",
    "pipeline_tag",
    "model-index",
    "version",
    "owners",
    "governance",
    "eval_results",
    "ignore_metadata_errors",
    "name",
    "results",
    "task",
    "dataset",
    "type",
    "value",
    "split",
    "config",
];

/// A metric of a `model-index` result.
fn metric() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry("type", scalar_of(&["accuracy", "f1", "wer", "", "auc"])),
        entry("value", scalar()),
        entry("name", scalar()),
    ])
}

fn index_result() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "task",
            mapping(vec![entry("type", scalar()), entry("name", scalar())]),
        ),
        entry(
            "dataset",
            mapping(vec![
                entry("type", scalar()),
                entry("name", scalar()),
                entry("split", scalar()),
                entry("config", scalar()),
            ]),
        ),
        entry(
            "metrics",
            prop_oneof![4 => list_of(metric()), 1 => scalar()].boxed(),
        ),
    ])
}

fn model_index() -> BoxedStrategy<Yaml> {
    list_of(mapping(vec![
        entry("name", scalar()),
        entry(
            "results",
            prop_oneof![4 => list_of(index_result()), 1 => scalar()].boxed(),
        ),
    ]))
}

fn drift_block() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "stattest",
            scalar_of(&["ks", "psi", "kss", "auto", "chisquare", "wasserstein", ""]),
        ),
        entry("compat", scalar_of(&["evidently", "calibrated", "pandas"])),
        entry("threshold", scalar()),
        entry("drift_share", scalar()),
        entry("max_rows", scalar()),
        entry("seed", scalar()),
        entry("ignore", list_of(scalar())),
        entry(
            "columns",
            mapping(vec![
                entry(
                    "age",
                    mapping(vec![
                        entry("threshold", scalar()),
                        entry("stattest", scalar()),
                    ]),
                ),
                entry("income", scalar()),
            ]),
        ),
    ])
}

fn governance() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "risk_tier",
            scalar_of(&["high", "low", "medium", "critical", ""]),
        ),
        entry("sensitive_features", list_of(scalar())),
        entry(
            "task",
            scalar_of(&[
                "binary_classification",
                "multiclass_classification",
                "regression",
                "ranking",
            ]),
        ),
        entry("label", scalar()),
        entry("prediction", scalar()),
        entry("score", scalar()),
        entry("id", scalar()),
        entry(
            "metrics",
            mapping(vec![entry(
                "auc",
                mapping(vec![
                    entry("direction", scalar_of(&["higher", "lower", "sideways"])),
                    entry("max_drop", scalar()),
                    entry("max_drop_pct", scalar()),
                    entry("min", scalar()),
                ]),
            )]),
        ),
        entry("drift", drift_block()),
        entry("risk_teir", scalar()),
    ])
}

fn list_or_scalar() -> BoxedStrategy<Yaml> {
    prop_oneof![list_of(scalar()), scalar(), yaml_gen::value(CARD_KEYS)].boxed()
}

/// Card front matter: the Hub's keys and `governance`, with values of the right shape most
/// of the time and of any shape otherwise.
fn front_matter() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "license",
            prop_oneof![
                scalar_of(&["mit", "apache-2.0", "other", "no", "MIT"]),
                list_or_scalar()
            ],
        ),
        entry("license_name", scalar()),
        entry("license_link", scalar()),
        entry("tags", list_or_scalar()),
        entry(
            "datasets",
            prop_oneof![
                list_of(scalar_of(&[
                    "imdb",
                    "data/train.csv",
                    "../x.parquet",
                    "data/eval.ndjson"
                ])),
                mapping(vec![
                    entry(
                        "train",
                        scalar_of(&["data/train.csv", "/abs.csv", "a/../../b.csv"])
                    ),
                    entry("eval", scalar()),
                ]),
                yaml_gen::value(CARD_KEYS),
            ],
        ),
        entry("base_model", list_or_scalar()),
        entry("language", list_or_scalar()),
        entry("metrics", list_or_scalar()),
        entry(
            "model-index",
            prop_oneof![4 => model_index(), 1 => yaml_gen::value(CARD_KEYS)],
        ),
        entry("version", scalar()),
        entry("owners", list_or_scalar()),
        entry(
            "governance",
            prop_oneof![4 => governance(), 1 => yaml_gen::value(CARD_KEYS)],
        ),
        entry("eval_results", scalar()),
        entry("extra", yaml_gen::value(CARD_KEYS)),
    ])
}

/// A Markdown body: headings, paragraphs, lists, quotes, code, HTML and tables.
fn body() -> impl Strategy<Value = String> {
    let block = prop_oneof![
        ("#{1,7}", "[ \\t]{0,2}", "\\PC{0,20}").prop_map(|(h, s, t)| format!("{h}{s}{t}\n")),
        "\\PC{0,60}\n",
        "(- |\\* |1\\. |> ){1,6}\\PC{0,20}\n",
        Just("```\n# not a heading\n".to_owned()),
        Just("```\n".to_owned()),
        Just("<details>\n# inside html\n".to_owned()),
        Just("| a | b |\n|---|---|\n| 1 | 2 |\n".to_owned()),
        Just("Setext\n===\n".to_owned()),
        Just("\n".to_owned()),
        Just("---\n".to_owned()),
    ];
    prop::collection::vec(block, 0..20).prop_map(|blocks| blocks.concat())
}

/// A diagnostic points into the card: named by its file, on one of its lines.
fn assert_in_file(diagnostic: &Diagnostic, text: &str) {
    assert_eq!(diagnostic.file, FILE, "{diagnostic}");
    assert!(
        diagnostic.line <= line_count(text) + 1,
        "{diagnostic} is past the card's {} lines",
        line_count(text)
    );
    assert!(!diagnostic.message.trim().is_empty(), "{diagnostic:?}");
}

/// Parses `text` as a card: never a panic, every diagnostic inside the card, sections on its
/// lines.
fn check_card(text: &str) {
    match Card::parse(FILE, text.as_bytes()) {
        Ok(card) => {
            for diagnostic in card.problems.iter().chain(&card.warnings) {
                assert_in_file(diagnostic, text);
            }
            // What the checks read from a card: metric names are distinct.
            let named = card.named_model_index();
            let mut names: Vec<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), named.len(), "metric names repeat: {named:?}");
            let _ = (
                card.model_index_metrics(),
                card.datasets(),
                card.base_models(),
                card.drift_policy(),
            );
            for section in &card.sections {
                assert!(
                    (1..=line_count(text) + 1).contains(&section.line),
                    "section {section:?} is not on a line of the card"
                );
            }
        }
        Err(error) => assert_in_file(&error, text),
    }
}

fn card_text(front: &Yaml, body: &str, crlf: bool) -> String {
    let text = format!("---\n{}---\n{body}", front.render());
    if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_cards_parse_or_fail_with_a_position(
        front in front_matter(),
        body in body(),
        crlf in any::<bool>(),
    ) {
        check_card(&card_text(&front, &body, crlf));
    }

    #[test]
    fn mutated_hub_cards_parse_or_fail_with_a_position(
        index in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let cards = hub_cards();
        let text = &cards[index.index(cards.len())];
        check_card(&apply(text, &edits));
    }

    #[test]
    fn mutated_yaml_edge_cases_parse_or_fail_with_a_position(
        index in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let cases = yaml_cases();
        let yaml = apply(&cases[index.index(cases.len())], &edits);
        check_card(&format!("---\n{yaml}\n---\n# x\n"));
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_read(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut card = b"---\n".to_vec();
        card.extend_from_slice(&bytes);
        card.extend_from_slice(b"\n---\n");
        match Card::parse(FILE, &card) {
            Ok(card) => prop_assert!(card.problems.iter().all(|p| p.file == FILE)),
            Err(error) => prop_assert_eq!(error.file, FILE),
        }
    }

    /// What is read is what was written: plain text list items come back in order.
    #[test]
    fn tags_and_owners_are_read_as_written(
        tags in prop::collection::vec("[a-z][a-z0-9-]{0,12}", 0..6),
        owners in prop::collection::vec("@?[a-z][a-z0-9]{0,8}(/[a-z]{1,6})?", 0..4),
    ) {
        let quoted = |items: &[String]| {
            let items: Vec<String> = items.iter().map(|t| format!("'{t}'")).collect();
            format!("[{}]", items.join(", "))
        };
        let text = format!(
            "---\nlicense: mit\ntags: {}\nowners: {}\n---\n# Model\n",
            quoted(&tags),
            quoted(&owners)
        );
        let card = Card::parse(FILE, text.as_bytes()).expect("a valid card");
        prop_assert!(card.problems.is_empty(), "{:?}", card.problems);
        prop_assert_eq!(&card.front_matter.tags, &tags);
        prop_assert_eq!(&card.front_matter.owners, &owners);
    }
}

fn hub_cards() -> &'static [String] {
    static CARDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CARDS.get_or_init(|| {
        fixture_texts("hub-cards", ".md")
            .into_iter()
            .filter(|(name, _)| name != "SOURCE.md")
            .map(|(_, text)| text)
            .collect()
    })
}

fn yaml_cases() -> &'static [String] {
    static CASES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CASES.get_or_init(|| {
        let cases: serde_json::Value =
            serde_json::from_str(&fixture_text("hub-cards/yaml-cases.json")).expect("JSON");
        cases["cards"]
            .as_array()
            .expect("a list of cases")
            .iter()
            .filter_map(|case| case["yaml"].as_str().map(str::to_owned))
            .collect()
    })
}

/// Parses a card on its own thread within the time limit.
fn parse_within(what: &str, text: String) -> Result<Card, Diagnostic> {
    within(what, ADVERSARIAL_LIMIT, move || {
        Card::parse(FILE, text.as_bytes())
    })
}

#[test]
fn a_billion_laughs_is_refused_by_the_budget() {
    let mut yaml = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10u8 {
        let (previous, name) = ((b'a' + level - 1) as char, (b'a' + level) as char);
        let refs = vec![format!("*{previous}"); 10].join(", ");
        yaml.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let error = parse_within("alias bomb", format!("---\n{yaml}---\n# x\n"))
        .expect_err("10^10 nodes are refused");
    assert_eq!(error.file, FILE);
    assert!(error.line >= 2, "{error}");
}

#[test]
fn aliases_of_a_large_anchor_are_bounded() {
    // One anchor of 5,000 items referenced 900 times: under the alias budget, over the node
    // budget once expanded.
    let items = vec!["x"; 5_000].join(", ");
    let refs = vec!["*big"; 900].join(", ");
    let text = format!("---\nbig: &big [{items}]\ntags: [{refs}]\n---\n");
    let error = parse_within("wide aliases", text).expect_err("expansion refused");
    assert_eq!(error.file, FILE);
}

#[test]
fn deep_nesting_is_refused_with_a_position() {
    let depth = 10_000;
    let flow_lists = format!("tags: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let flow_maps = format!("tags: {}x: 1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
    let block_lists = format!("tags:\n{}x\n", "- ".repeat(depth));
    let block_maps: String = (0..1_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let unclosed = format!("tags: {}\n", "[".repeat(depth));
    for (what, yaml) in [
        ("flow lists", flow_lists),
        ("flow maps", flow_maps),
        ("block lists", block_lists),
        ("block maps", block_maps),
        ("unclosed", unclosed),
    ] {
        let error = parse_within(what, format!("---\n{yaml}---\n# x\n"))
            .expect_err("nesting past the depth budget is refused");
        assert_eq!(error.file, FILE, "{what}");
        assert!(error.line >= 2, "{what}: {error}");
    }
}

#[test]
fn a_huge_line_is_read_or_refused_by_size() {
    let long = "x".repeat(1_000_000);
    let card = parse_within(
        "a long value",
        format!("---\nlicense: mit\nlicense_name: {long}\n---\n"),
    )
    .expect("a long value under the size limit is read");
    assert_eq!(
        card.front_matter.license_name.map(|n| n.len()),
        Some(long.len())
    );

    let error = parse_within(
        "an oversized front matter",
        format!("---\nk: {}\n---\n", "x".repeat(2 << 20)),
    )
    .expect_err("over the size limit");
    assert!(error.message.contains("at most"), "{error}");
    assert_eq!((error.file.as_str(), error.line), (FILE, 2));
}

#[test]
fn many_quoted_scalars_with_a_long_line_are_read_in_bounded_time() {
    // Tabs are looked for outside quoted scalars: with many quoted scalars and a long plain
    // line, a check of every quoted range per character would be quadratic.
    let quoted = vec!["'q'"; 90_000].join(",");
    let text = format!(
        "---\ntags: [{quoted}]\nlicense_name: {}\n---\n",
        "y".repeat(600_000)
    );
    let card = parse_within("quoted scalars and a long line", text).expect("valid YAML");
    assert_eq!(card.front_matter.tags.len(), 90_000);
}

#[test]
fn a_long_flow_list_without_spaces_is_read_in_bounded_time() {
    // Each scalar looks back for a block-scalar indicator: on one line without whitespace,
    // looking back to the start of the line for each would be quadratic.
    let items = vec!["a"; 99_000].join(",");
    let text = format!("---\ntags: [{items}]\n---\n");
    let card = parse_within("a flow list without spaces", text).expect("valid YAML");
    assert_eq!(card.front_matter.tags.len(), 99_000);
}

#[test]
fn hostile_markdown_bodies_are_read_in_bounded_time() {
    let bodies = [
        format!("{}x\n", "> ".repeat(50_000)),
        (0..10_000)
            .map(|i| format!("{}- item\n", "  ".repeat(i % 200)))
            .collect(),
        "[".repeat(500_000),
        "*a **".repeat(100_000),
        format!("# {}\n", "h".repeat(2_000_000)),
        "<div>\n".repeat(100_000),
        "`".repeat(300_000),
        "#\n".repeat(500_000),
    ];
    for (index, body) in bodies.into_iter().enumerate() {
        let lines = line_count(&body) + 4;
        let card = parse_within(
            &format!("markdown body {index}"),
            format!("---\nlicense: mit\n---\n{body}"),
        )
        .expect("a body never fails a card");
        assert!(
            card.sections.iter().all(|s| s.line <= lines),
            "body {index}"
        );
    }
}

#[test]
fn control_characters_and_bad_utf8_are_refused_with_their_position() {
    let error = Card::parse(FILE, b"---\nlicense: mit\ntags: [a\x07]\n---\n").expect_err("BEL");
    assert_eq!((error.line, error.column), (3, 9), "{error}");
    let error = Card::parse(FILE, b"---\nlicense: \xff\n---\n").expect_err("not UTF-8");
    assert!(error.message.contains("UTF-8"), "{error}");
}

#[test]
fn many_metrics_of_one_name_are_named_in_bounded_time() {
    // Each repeated name is made distinct: comparing every result with every other, and
    // numbering by trying `#2`, `#3`, … from scratch each time, would take cubic time.
    let metrics = "    - {type: acc, value: 1}\n".repeat(15_000);
    let text = format!(
        "---\nmodel-index:\n- name: m\n  results:\n  - task: {{type: t}}\n    dataset: {{type: d, name: D}}\n    metrics:\n{metrics}---\n"
    );
    let card = parse_within("repeated metrics", text).expect("a valid card");
    let named = within("naming repeated metrics", ADVERSARIAL_LIMIT, move || {
        card.model_index_metrics()
    });
    assert_eq!(named.len(), 15_000);
    assert!(
        named.contains_key("acc (d) #15000"),
        "{:?}",
        named.keys().last()
    );
}
