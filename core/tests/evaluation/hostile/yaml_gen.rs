//! Structure-aware YAML: trees of mappings, lists and scalars built from the keys a card or a
//! policy has and from values that trip YAML readers, written in block or flow style with
//! plain, quoted or block scalars, anchors and aliases. Most of what comes out is valid YAML
//! (so the parsers get past the syntax to their checks); the rest is nearly valid.

use proptest::prelude::*;

#[derive(Debug, Clone)]
pub enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

#[derive(Debug, Clone)]
pub enum Yaml {
    Scalar(String, Style),
    List(Vec<Yaml>, bool),
    Map(Vec<(String, Yaml)>, bool),
    /// `&name value`
    Anchored(String, Box<Yaml>),
    /// `*name`
    Alias(String),
}

/// Scalars YAML readers disagree on, or that break a careless one.
const TRICKY_SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "0",
    "-0",
    "007",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "190:20:30",
    ".5",
    "-.inf",
    ".NaN",
    "1e999",
    "1e-999",
    "-1",
    "4294967296",
    "18446744073709551616",
    "2023-01-01",
    "2023-13-45",
    "2024-02-29",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "<<",
    "mit",
    "apache-2.0",
    "other",
    "cc-by-4.0",
    "high",
    "low",
    "medium",
    "ks",
    "psi",
    "evidently",
    "calibrated",
    "auto",
    "binary_classification",
    "regression",
    "data/train.csv",
    "../outside.csv",
    "/etc/passwd",
    "data\\x.parquet",
    "org/team",
    "acme/model-risk",
    "180d",
    "26w",
    "0d",
    "18446744073709551615d",
    "é",
    "日本語",
    "😀",
    "a\tb",
    "line\nbreak",
    "\u{202e}x",
    "#not a comment",
    "key: value",
    "- item",
    "[a, b]",
    "{a: 1}",
    "'",
    "\"",
    "\\",
    "%",
    "@",
    "`",
];

fn scalar_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(TRICKY_SCALARS).prop_map(str::to_owned),
        2 => "[a-z][a-z0-9_-]{0,10}",
        1 => "-?[0-9]{1,20}(\\.[0-9]{0,6})?",
        1 => "\\PC{0,20}",
    ]
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        5 => Just(Style::Plain),
        2 => Just(Style::Single),
        2 => Just(Style::Double),
        1 => Just(Style::Literal),
    ]
}

pub fn scalar() -> impl Strategy<Value = Yaml> {
    (scalar_text(), style()).prop_map(|(text, style)| Yaml::Scalar(text, style))
}

pub fn scalar_of(texts: &'static [&'static str]) -> impl Strategy<Value = Yaml> {
    (prop::sample::select(texts), style())
        .prop_map(|(text, style)| Yaml::Scalar(text.to_owned(), style))
}

/// Any value: scalars, lists and mappings a few levels deep, keys from `keys` or random.
pub fn value(keys: &'static [&'static str]) -> impl Strategy<Value = Yaml> {
    scalar().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..6), any::<bool>())
                .prop_map(|(items, flow)| Yaml::List(items, flow)),
            (
                prop::collection::vec((key(keys), inner.clone()), 0..6),
                any::<bool>()
            )
                .prop_map(|(entries, flow)| Yaml::Map(entries, flow)),
            (prop::sample::select(&["a", "b"][..]), inner)
                .prop_map(|(name, value)| Yaml::Anchored(name.to_owned(), Box::new(value))),
            prop::sample::select(&["a", "b", "missing"][..])
                .prop_map(|name| Yaml::Alias(name.to_owned())),
        ]
    })
}

pub fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-z_]{1,8}",
        1 => prop::sample::select(&["yes", "1", "2023-01-01", "~", "<<", "\"quoted\"", "? x"][..])
            .prop_map(str::to_owned),
    ]
}

/// A mapping with the given key → value strategies, each present or not, in block or flow
/// style, sometimes with a key repeated.
pub fn mapping(entries: Vec<BoxedStrategy<(String, Yaml)>>) -> BoxedStrategy<Yaml> {
    let present = prop::collection::vec(any::<bool>(), entries.len());
    (entries, present, any::<bool>(), any::<u8>())
        .prop_map(|(entries, present, flow, repeat)| {
            let mut kept: Vec<(String, Yaml)> = entries
                .into_iter()
                .zip(present)
                .filter(|(_, keep)| *keep)
                .map(|(entry, _)| entry)
                .collect();
            if repeat < 16
                && let Some(first) = kept.first().cloned()
            {
                kept.push(first);
            }
            Yaml::Map(kept, flow && repeat % 3 == 0)
        })
        .boxed()
}

pub fn entry(
    key: &'static str,
    value: impl Strategy<Value = Yaml> + 'static,
) -> BoxedStrategy<(String, Yaml)> {
    value.prop_map(move |value| (key.to_owned(), value)).boxed()
}

pub fn list_of(item: impl Strategy<Value = Yaml> + 'static) -> BoxedStrategy<Yaml> {
    (prop::collection::vec(item, 0..4), any::<bool>())
        .prop_map(|(items, flow)| Yaml::List(items, flow))
        .boxed()
}

impl Yaml {
    /// The YAML text of a document whose root is `self`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(_, false) | Yaml::List(_, false) => self.block(0, &mut out),
            other => {
                out.push_str(&other.inline());
                out.push('\n');
            }
        }
        out
    }

    fn is_block_collection(&self) -> bool {
        match self {
            Yaml::Map(entries, false) => !entries.is_empty(),
            Yaml::List(items, false) => !items.is_empty(),
            Yaml::Anchored(_, inner) => inner.is_block_collection(),
            _ => false,
        }
    }

    /// Block style at `indent`, each line ending in a newline.
    fn block(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Yaml::Map(entries, false) if !entries.is_empty() => {
                for (key, value) in entries {
                    out.push_str(&pad);
                    out.push_str(key);
                    out.push(':');
                    value.after_indicator(indent, out);
                }
            }
            Yaml::List(items, false) if !items.is_empty() => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    item.after_indicator(indent, out);
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&other.inline());
                out.push('\n');
            }
        }
    }

    /// The value after `key:` or `-`: inline, or block on the following lines.
    fn after_indicator(&self, indent: usize, out: &mut String) {
        match self {
            Yaml::Anchored(name, inner) if inner.is_block_collection() => {
                out.push_str(&format!(" &{name}\n"));
                inner.block(indent + 2, out);
            }
            value if value.is_block_collection() => {
                out.push('\n');
                value.block(indent + 2, out);
            }
            Yaml::Scalar(text, Style::Literal) => {
                out.push_str(" |\n");
                for line in text.split('\n') {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                    out.push('\n');
                }
            }
            value => {
                out.push(' ');
                out.push_str(&value.inline());
                out.push('\n');
            }
        }
    }

    /// Flow style on one line.
    fn inline(&self) -> String {
        match self {
            Yaml::Scalar(text, style) => match style {
                Style::Plain | Style::Literal => text.clone(),
                Style::Single => format!("'{}'", text.replace('\'', "''")),
                Style::Double => format!("{:?}", text),
            },
            Yaml::List(items, _) => {
                let items: Vec<String> = items.iter().map(Yaml::inline).collect();
                format!("[{}]", items.join(", "))
            }
            Yaml::Map(entries, _) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(key, value)| format!("{key}: {}", value.inline()))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
            Yaml::Anchored(name, inner) => format!("&{name} {}", inner.inline()),
            Yaml::Alias(name) => format!("*{name}"),
        }
    }
}
