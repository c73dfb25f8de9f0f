//! The policy, `.github/modelgate.yml`: strict YAML into tiers and check settings.

use modelgate_core::Diagnostic;
use modelgate_core::policy::Policy;
use proptest::prelude::*;

use super::yaml_gen::{self, Yaml, entry, list_of, mapping, scalar, scalar_of};
use super::{ADVERSARIAL_LIMIT, apply, config, edit, fixture_text, line_count, within};

const FILE: &str = ".github/modelgate.yml";

const POLICY_KEYS: &[&str] = &[
    "default_tier",
    "tiers",
    "regression",
    "drift",
    "fairness",
    "escalate",
    "approvals",
    "required_sections",
    "block_on",
    "invalidate_on_push",
    "teams",
    "independent",
    "review_every",
    "max_drop_pct",
    "resamples",
    "seed",
    "stattest",
    "threshold",
    "drift_share",
    "columns",
];

const TIERS: &[&str] = &["low", "medium", "high", "critical", ""];

fn tier() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "approvals",
            prop_oneof![
                scalar_of(&["0", "1", "2", "-1", "4294967296", "many"]),
                scalar()
            ],
        ),
        entry("required_sections", list_of(scalar())),
        entry(
            "block_on",
            list_of(scalar_of(&[
                "regression",
                "drift",
                "fairness",
                "card",
                "lint",
            ])),
        ),
        entry(
            "invalidate_on_push",
            scalar_of(&["true", "false", "yes", "1"]),
        ),
        entry(
            "teams",
            list_of(scalar_of(&[
                "acme/model-risk",
                "acme/",
                "/x",
                "plain",
                "a/b/c",
            ])),
        ),
        entry("independent", scalar_of(&["true", "false", "~"])),
        entry(
            "review_every",
            scalar_of(&["180d", "26w", "0d", "soon", "99999999999999999999w", "d"]),
        ),
        entry("unknown", scalar()),
    ])
}

fn policy() -> BoxedStrategy<Yaml> {
    let tier_entries: Vec<BoxedStrategy<(String, Yaml)>> = TIERS
        .iter()
        .map(|name| entry(name, prop_oneof![4 => tier(), 1 => scalar()]))
        .collect();
    mapping(vec![
        entry("default_tier", scalar_of(TIERS)),
        entry(
            "tiers",
            prop_oneof![4 => mapping(tier_entries), 1 => yaml_gen::value(POLICY_KEYS)],
        ),
        entry(
            "regression",
            mapping(vec![
                entry(
                    "max_drop_pct",
                    prop_oneof![scalar_of(&["2", "-1", ".nan", ".inf", "1e308"]), scalar()],
                ),
                entry("resamples", scalar()),
                entry("seed", scalar()),
            ]),
        ),
        entry(
            "drift",
            mapping(vec![
                entry(
                    "stattest",
                    scalar_of(&["auto", "ks", "psi", "kss", "jensenshannon"]),
                ),
                entry(
                    "drift_share",
                    scalar_of(&["0", "0.5", "1", "1.5", ".nan", "-0"]),
                ),
                entry("threshold", scalar_of(&["0.05", "-0.5", ".inf", "x"])),
                entry(
                    "max_rows",
                    scalar_of(&["0", "1", "18446744073709551615", "18446744073709551616"]),
                ),
                entry("compat", scalar_of(&["evidently", "calibrated", "x"])),
                entry("columns", yaml_gen::value(POLICY_KEYS)),
                entry("ignore", list_of(scalar())),
            ]),
        ),
        entry("fairness", yaml_gen::value(POLICY_KEYS)),
        entry(
            "escalate",
            mapping(vec![
                entry("drift", scalar_of(TIERS)),
                entry("fairness", scalar_of(TIERS)),
                entry("lint", scalar_of(TIERS)),
            ]),
        ),
    ])
}

fn check_policy(text: &str) {
    let assert_in_file = |diagnostic: &Diagnostic| {
        assert_eq!(diagnostic.file, FILE, "{diagnostic}");
        assert!(
            diagnostic.line <= line_count(text) + 1,
            "{diagnostic} is past the policy's end"
        );
        assert!(!diagnostic.message.trim().is_empty(), "{diagnostic:?}");
    };
    match Policy::parse(FILE, text) {
        Ok(policy) => {
            assert!(
                policy.tiers.contains_key(&policy.default_tier),
                "{policy:?}"
            );
            for tier in policy.escalate.values() {
                assert!(
                    policy.tiers.contains_key(tier),
                    "escalate to unknown tier {tier}"
                );
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "an error without a problem");
            problems.iter().for_each(assert_in_file);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn generated_policies_are_valid_or_every_problem_is_placed(policy in policy()) {
        check_policy(&policy.render());
    }

    #[test]
    fn mutated_example_policies_are_valid_or_every_problem_is_placed(
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let text = fixture_text("example/baseline/.github/modelgate.yml");
        check_policy(&apply(&text, &edits));
    }

    #[test]
    fn any_text_is_a_policy_or_its_problems(text in "\\PC{0,300}") {
        check_policy(&text);
    }
}

#[test]
fn hostile_policies_are_refused_in_bounded_time() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9u8 {
        let (previous, name) = ((b'a' + level - 1) as char, (b'a' + level) as char);
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 10].join(", ")
        ));
    }
    let deep_tiers = format!("tiers: {}{}\n", "{t: ".repeat(10_000), "}".repeat(10_000));
    let deep_lists = format!("tiers:\n  low:\n    teams: {}\n", "[".repeat(10_000));
    let long_name = format!("default_tier: {}\n", "t".repeat(1_040_000));
    let oversized = format!("# {}\n", "x".repeat(2 << 20));
    for (what, text) in [
        ("alias bomb", bomb),
        ("deep tiers", deep_tiers),
        ("unclosed lists", deep_lists),
        ("a long tier name", long_name),
        ("an oversized file", oversized),
    ] {
        let problems = within(what, ADVERSARIAL_LIMIT, move || Policy::parse(FILE, &text))
            .expect_err("refused");
        assert_eq!(problems[0].file, FILE, "{what}");
        assert!(!problems[0].message.is_empty(), "{what}");
    }
}
