//! A card's front matter as the Hugging Face Hub reads it.
//!
//! huggingface_hub loads the front matter with PyYAML's `safe_load` (YAML 1.1: plain `no`,
//! `on` and `yes` are booleans, `2023-01-01` a date) into `ModelCardData`, which keeps every
//! key as written and refuses a card only for a few reasons: keys that are not text, `tags`
//! that cannot be iterated, and a `model-index` whose entries lack the keys it indexes. The
//! Hub itself also refuses a `license` outside its list. [`Node`] is the YAML typed the way
//! PyYAML types it, with every node's place, so that modelgate refuses exactly those cards
//! ([`hub_problems`]) and reads the Hub's keys leniently, a scalar where a list is usual or a
//! YAML 1.1 word read as its text.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// How PyYAML types a scalar: plain scalars by its implicit resolvers, quoted and block
/// scalars always as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    Text,
}

impl ScalarKind {
    fn name(self) -> &'static str {
        match self {
            ScalarKind::Null => "null",
            ScalarKind::Bool => "a boolean",
            ScalarKind::Int => "an integer",
            ScalarKind::Float => "a number",
            ScalarKind::Timestamp => "a date",
            ScalarKind::Text => "text",
        }
    }
}

/// A YAML node with its place in the YAML text (1-based; 0 when unknown).
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub line: u64,
    pub column: u64,
    /// A plain scalar (not quoted, not a block scalar): only these are typed by PyYAML.
    pub plain: bool,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// `text` is the scalar's value as written (unquoted, escapes applied).
    Scalar {
        kind: ScalarKind,
        text: String,
    },
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` in a mapping; the last one when a key repeats, as PyYAML keeps it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar's text, whatever PyYAML would type it as (`no` is "no").
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn kind(&self) -> Option<ScalarKind> {
        match &self.value {
            Value::Scalar { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.kind() == Some(ScalarKind::Null)
    }

    /// Python's truth value of what PyYAML would build.
    fn truthy(&self) -> bool {
        match &self.value {
            Value::Scalar { kind, text } => match kind {
                ScalarKind::Null => false,
                ScalarKind::Bool => matches!(
                    text.as_str(),
                    "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
                ),
                ScalarKind::Int | ScalarKind::Float => parse_number(text) != Some(0.0),
                ScalarKind::Timestamp => true,
                ScalarKind::Text => !text.is_empty(),
            },
            Value::List(items) => !items.is_empty(),
            Value::Map(entries) => !entries.is_empty(),
        }
    }

    /// A scalar or a list of scalars as texts: how the Hub's list keys are read.
    /// `None` for anything else (a mapping, a list holding lists).
    pub fn texts(&self) -> Option<Vec<&str>> {
        match &self.value {
            Value::Scalar {
                kind: ScalarKind::Null,
                ..
            } => Some(Vec::new()),
            Value::Scalar { text, .. } => Some(vec![text.as_str()]),
            Value::List(items) => items.iter().map(Node::text).collect(),
            Value::Map(_) => None,
        }
    }

    fn describe(&self) -> &'static str {
        match &self.value {
            Value::Scalar { kind, .. } => kind.name(),
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A number as PyYAML reads an int or float scalar (`1_000`, `.5`); also numeric text.
pub fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads YAML text into a [`Node`] tree. Errors are serde-saphyr's, positioned.
pub(crate) fn parse_nodes(
    file: &str,
    yaml: &str,
    first_line: u64,
) -> Result<Node, crate::diagnostic::Diagnostic> {
    let raw: Spanned<Raw> = crate::yaml::parse_card_yaml(file, yaml, first_line - 1)?;
    let mut quoted = Vec::new();
    let root = to_node(raw, yaml, &mut quoted);
    if let Some((line, column)) = misplaced_tab(yaml, &quoted) {
        return Err(crate::diagnostic::Diagnostic::at(
            file,
            first_line + line - 1,
            column,
            "a tab outside quoted text, a block scalar or a comment, which the Hub's YAML loader refuses; expected spaces",
        ));
    }
    Ok(root)
}

/// The first tab PyYAML's scanner refuses: it skips only spaces between tokens, so a tab is
/// allowed inside quoted and block scalars (`quoted`, byte ranges of `yaml`) and comments.
fn misplaced_tab(yaml: &str, quoted: &[(usize, usize)]) -> Option<(u64, u64)> {
    // Sorted and merged, so that whether a byte is quoted is a binary search: front matter
    // may hold a hundred thousand quoted scalars.
    let mut ranges = quoted.to_vec();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let is_quoted = |at: usize| {
        let index = merged.partition_point(|&(start, _)| start <= at);
        index > 0 && at < merged[index - 1].1
    };
    let mut offset = 0;
    for (index, line) in yaml.split_inclusive('\n').enumerate() {
        let mut previous = ' ';
        for (column, (at, c)) in line.char_indices().enumerate() {
            // Only a `#` or a tab can matter, so only theirs are looked up.
            let inside = matches!(c, '#' | '\t') && is_quoted(offset + at);
            if !inside {
                if c == '#' && (previous == ' ' || column == 0) {
                    break;
                }
                if c == '\t' {
                    return Some((index as u64 + 1, column as u64 + 1));
                }
            }
            previous = c;
        }
        offset += line.len();
    }
    None
}

/// The tree as serde-saphyr gives it, before scalars are typed from their source text.
enum Raw {
    Text(String),
    /// A boolean, number or null: typed again from the source text, as PyYAML would.
    NotText,
    List(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Text(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::NotText)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// Whether the scalar whose content starts at `start` is a block scalar: its span covers the
/// content only, so the indicator (`|`, `>-`, `|2`) is the last token before it.
fn after_block_indicator(yaml: &str, start: usize) -> bool {
    let before = yaml.get(..start).unwrap_or_default().trim_end();
    // Read backwards over the indicator's modifiers only, not back to the last whitespace:
    // on a long line without any, that would be quadratic over the line's scalars.
    let indicator_end = before.trim_end_matches(|c| matches!(c, '+' | '-' | '1'..='9'));
    indicator_end
        .strip_suffix(['|', '>'])
        .is_some_and(|rest| rest.is_empty() || rest.ends_with(char::is_whitespace))
}

/// The byte range of the node at `location` in the YAML text.
fn byte_range(location: Location) -> Option<(usize, usize)> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some((start, start.checked_add(len)?))
}

/// The source text of the node at `location` (an alias's is its anchor's node).
fn source_text(yaml: &str, location: Location) -> Option<&str> {
    let (start, end) = byte_range(location)?;
    yaml.get(start..end)
}

/// `quoted` collects the byte ranges of quoted and block scalars, where tabs are text.
fn to_node(raw: Spanned<Raw>, yaml: &str, quoted: &mut Vec<(usize, usize)>) -> Node {
    let (line, column) = (raw.referenced.line(), raw.referenced.column());
    let source = source_text(yaml, raw.defined)
        .or_else(|| source_text(yaml, raw.referenced))
        .unwrap_or_default()
        .trim();
    let mut plain = false;
    let value = match raw.value {
        Raw::Text(text) => {
            let range = byte_range(raw.defined);
            let block = range.is_some_and(|(start, _)| after_block_indicator(yaml, start));
            plain = !block && !source.starts_with(['"', '\'', '!']);
            if !plain {
                quoted.extend(range);
            }
            let kind = if plain {
                pyyaml_kind(&text)
            } else {
                ScalarKind::Text
            };
            Value::Scalar { kind, text }
        }
        Raw::NotText => {
            // Booleans, numbers and nulls are plain scalars: their text is the source's.
            plain = true;
            let text = source.split(" #").next().unwrap_or_default().trim();
            Value::Scalar {
                kind: pyyaml_kind(text),
                text: text.to_owned(),
            }
        }
        Raw::List(items) => Value::List(
            items
                .into_iter()
                .map(|i| to_node(i, yaml, quoted))
                .collect(),
        ),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (to_node(k, yaml, quoted), to_node(v, yaml, quoted)))
                .collect(),
        ),
    };
    Node {
        value,
        line,
        column,
        plain,
    }
}

/// PyYAML's implicit resolution of a plain scalar (its resolver's patterns, YAML 1.1).
pub fn pyyaml_kind(text: &str) -> ScalarKind {
    const BOOLS: [&str; 18] = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        ScalarKind::Null
    } else if BOOLS.contains(&text) {
        ScalarKind::Bool
    } else if is_yaml11_int(text) {
        ScalarKind::Int
    } else if is_yaml11_float(text) {
        ScalarKind::Float
    } else if is_yaml11_timestamp(text) {
        ScalarKind::Timestamp
    } else {
        ScalarKind::Text
    }
}

fn strip_sign(text: &str) -> &str {
    text.strip_prefix(['-', '+']).unwrap_or(text)
}

fn all(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    !text.is_empty() && text.chars().all(allowed)
}

/// `:[0-5]?[0-9]` groups, one or more: YAML 1.1's base-60 tail.
fn sexagesimal_tail(text: &str) -> bool {
    let groups: Vec<&str> = text.split(':').collect();
    groups.len() > 1
        && groups[1..].iter().all(|g| {
            (1..=2).contains(&g.len())
                && g.chars().all(|c| c.is_ascii_digit())
                && (g.len() == 1 || g.starts_with(['0', '1', '2', '3', '4', '5']))
        })
}

fn is_yaml11_int(text: &str) -> bool {
    let body = strip_sign(text);
    if let Some(bits) = body.strip_prefix("0b") {
        return all(bits, |c| matches!(c, '0' | '1' | '_'));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return all(hex, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if body == "0" {
        return true;
    }
    if let Some(octal) = body.strip_prefix('0') {
        return all(octal, |c| matches!(c, '0'..='7' | '_'));
    }
    let head = body.split(':').next().unwrap_or_default();
    let decimal = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_digit() && c != '0')
            && all(s, |c| c.is_ascii_digit() || c == '_')
    };
    if body.contains(':') {
        return decimal(head) && sexagesimal_tail(body);
    }
    decimal(body)
}

fn is_yaml11_float(text: &str) -> bool {
    let body = strip_sign(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let digits_ = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(exp) = exponent {
        let Some(exp_digits) = exp.strip_prefix(['-', '+']) else {
            return false;
        };
        if !all(exp_digits, |c| c.is_ascii_digit()) {
            return false;
        }
    }
    let Some((whole, fraction)) = mantissa.split_once('.') else {
        return false;
    };
    if whole.contains(':') {
        // Base 60: `[0-9][0-9_]*(:[0-5]?[0-9])+.[0-9_]*`, no exponent.
        let head = whole.split(':').next().unwrap_or_default();
        return exponent.is_none()
            && head.starts_with(|c: char| c.is_ascii_digit())
            && digits_(head)
            && sexagesimal_tail(whole)
            && digits_(fraction);
    }
    if whole.is_empty() {
        // `.5`: a digit must follow the dot, and no sign before it.
        return body.len() == text.len()
            && fraction.starts_with(|c: char| c.is_ascii_digit())
            && digits_(fraction);
    }
    whole.starts_with(|c: char| c.is_ascii_digit()) && digits_(whole) && digits_(fraction)
}

fn is_yaml11_timestamp(text: &str) -> bool {
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit())
    };
    let date_len = text.find(['T', 't', ' ', '\t']).unwrap_or(text.len());
    let (date, rest) = text.split_at(date_len);
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 || !digits(parts[0], 4, 4) {
        return false;
    }
    if rest.is_empty() {
        return digits(parts[1], 2, 2) && digits(parts[2], 2, 2);
    }
    if !digits(parts[1], 1, 2) || !digits(parts[2], 1, 2) {
        return false;
    }
    // `[Tt]` or spaces, then `hh:mm:ss(.frac)?`, then an optional zone.
    let time = rest
        .strip_prefix(['T', 't'])
        .unwrap_or_else(|| rest.trim_start_matches([' ', '\t']));
    let clock_end = time.find([' ', '\t', 'Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(clock_end);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let hms: Vec<&str> = hms.split(':').collect();
    let clock_ok = hms.len() == 3
        && digits(hms[0], 1, 2)
        && digits(hms[1], 2, 2)
        && digits(hms[2], 2, 2)
        && fraction.chars().all(|c| c.is_ascii_digit());
    let zone = zone.trim_start_matches([' ', '\t']);
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || zone.strip_prefix(['+', '-']).is_some_and(|z| {
            let (h, m) = z.split_once(':').unwrap_or((z, "00"));
            digits(h, 1, 2) && digits(m, 2, 2)
        });
    clock_ok && zone_ok
}

/// A reason the Hub's tools refuse a card, at a node of its front matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubProblem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

fn problem(node: &Node, message: String) -> HubProblem {
    HubProblem {
        line: node.line,
        column: node.column,
        message,
    }
}

/// Everything in `root` (the front matter, a mapping) that huggingface_hub's `ModelCard` or
/// the Hub's license list refuses. `licenses` is the Hub's list of license ids.
pub fn hub_problems(root: &Node, licenses: &[&str]) -> Vec<HubProblem> {
    let mut problems = Vec::new();
    let Value::Map(entries) = &root.value else {
        return problems;
    };
    unhashable_keys(root, &mut problems);
    for (key, value) in entries {
        match key.kind() {
            Some(ScalarKind::Text) => {}
            Some(kind) => {
                let text = key.text().unwrap_or_default();
                problems.push(problem(
                    key,
                    format!(
                        "key `{text}` is read by the Hub's YAML loader as {}, not text; expected a text key (quote it: '{text}':)",
                        kind.name()
                    ),
                ));
            }
            None => {}
        }
        match key.text() {
            Some("ignore_metadata_errors") => problems.push(problem(
                key,
                "key `ignore_metadata_errors` is an argument of huggingface_hub's ModelCardData, which refuses it as metadata; expected another key".to_owned(),
            )),
            Some("eval_results") if value.truthy() => problems.push(problem(
                value,
                "eval_results: huggingface_hub builds this from model-index and refuses it in metadata; expected the results under `model-index`".to_owned(),
            )),
            _ => {}
        }
    }
    unconstructable(root, &mut problems);
    if let Some(tags) = root.get("tags")
        && matches!(
            tags.kind(),
            Some(ScalarKind::Bool | ScalarKind::Int | ScalarKind::Float | ScalarKind::Timestamp)
        )
    {
        problems.push(problem(
            tags,
            format!(
                "tags: `{}` is read by the Hub's YAML loader as {}; expected text or a list of tags (quote it)",
                tags.text().unwrap_or_default(),
                tags.describe()
            ),
        ));
    }
    if let Some(license) = root.get("license") {
        license_problems(license, licenses, &mut problems);
    }
    if let Some(index) = root.get("model-index")
        && index.truthy()
    {
        model_index_problems(index, &mut problems);
    }
    problems
}

/// Plain scalars PyYAML resolves but its safe loader cannot build: `=` (YAML 1.1's value
/// key) and dates that do not exist (`2023-13-45`).
fn unconstructable(node: &Node, problems: &mut Vec<HubProblem>) {
    match &node.value {
        Value::Scalar {
            kind: ScalarKind::Text,
            text,
        } if text == "=" && node.plain => problems.push(problem(
            node,
            "`=` unquoted is YAML 1.1's value key, which the Hub's YAML loader refuses; expected it quoted ('=')".to_owned(),
        )),
        Value::Scalar {
            kind: ScalarKind::Timestamp,
            text,
        } if !timestamp_exists(text) => problems.push(problem(
            node,
            format!("`{text}` is read by the Hub's YAML loader as a date, and there is no such date; expected a real date, or the text quoted"),
        )),
        Value::Scalar { .. } => {}
        Value::List(items) => items.iter().for_each(|i| unconstructable(i, problems)),
        Value::Map(entries) => {
            for (key, value) in entries {
                unconstructable(key, problems);
                unconstructable(value, problems);
            }
        }
    }
}

/// Whether a YAML 1.1 timestamp names a real moment, as Python's `datetime` requires.
fn timestamp_exists(text: &str) -> bool {
    let number = |s: &str| s.parse::<u32>().ok();
    let date_len = text.find(['T', 't', ' ', '\t']).unwrap_or(text.len());
    let (date, rest) = text.split_at(date_len);
    let mut parts = date.split('-').map(number);
    let (Some(Some(year)), Some(Some(month)), Some(Some(day))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if year == 0 || day == 0 || day > days {
        return false;
    }
    let time = rest.trim_start_matches(['T', 't', ' ', '\t']);
    if time.is_empty() {
        return true;
    }
    let clock_end = time.find([' ', '\t', 'Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(clock_end);
    let hms: Vec<Option<u32>> = clock
        .split('.')
        .next()
        .unwrap_or_default()
        .split(':')
        .map(number)
        .collect();
    let clock_ok =
        matches!(hms.as_slice(), [Some(h), Some(m), Some(s)] if *h < 24 && *m < 60 && *s < 60);
    let zone = zone.trim_start_matches([' ', '\t']);
    let zone_ok = match zone.strip_prefix(['+', '-']) {
        Some(offset) => {
            let (h, m) = offset.split_once(':').unwrap_or((offset, "0"));
            matches!((number(h), number(m)), (Some(h), Some(m)) if h * 60 + m < 24 * 60)
        }
        None => true,
    };
    clock_ok && zone_ok
}

/// PyYAML refuses a mapping key that is a list or a mapping ("found unhashable key").
fn unhashable_keys(node: &Node, problems: &mut Vec<HubProblem>) {
    match &node.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                if matches!(key.value, Value::List(_) | Value::Map(_)) {
                    problems.push(problem(
                        key,
                        format!(
                            "a mapping key is {}; the Hub's YAML loader refuses such keys; expected a text key",
                            key.describe()
                        ),
                    ));
                }
                unhashable_keys(value, problems);
            }
        }
        Value::List(items) => items.iter().for_each(|i| unhashable_keys(i, problems)),
        Value::Scalar { .. } => {}
    }
}

fn license_problems(license: &Node, licenses: &[&str], problems: &mut Vec<HubProblem>) {
    let items: Vec<&Node> = match &license.value {
        Value::List(items) => items.iter().collect(),
        _ if license.is_null() => Vec::new(),
        _ => vec![license],
    };
    for item in items {
        match item.text() {
            Some(id) if item.kind() == Some(ScalarKind::Text) && licenses.contains(&id) => {}
            Some(id) => problems.push(problem(
                item,
                format!(
                    "license `{id}` is not a Hugging Face Hub license id; expected one such as apache-2.0 or mit, or `other` with license_name and license_link"
                ),
            )),
            None => problems.push(problem(
                item,
                format!(
                    "license is {}; expected a Hub license id such as apache-2.0",
                    item.describe()
                ),
            )),
        }
    }
}

/// What huggingface_hub's `model_index_to_eval_results` indexes: every entry needs `name`
/// and `results`; every result `task.type`, `dataset.type`, `dataset.name` and `metrics`;
/// every metric `type` and `value`. A key must be present; its value may be empty.
fn model_index_problems(index: &Node, problems: &mut Vec<HubProblem>) {
    let missing = |node: &Node, what: &str| {
        let expected = if what.starts_with("metrics[].") {
            "`type` and `value` in every metric"
        } else if what == "name" || what == "results" {
            "`name` and `results` in every entry"
        } else {
            "`task.type`, `dataset.type`, `dataset.name` and `metrics` in every result"
        };
        problem(
            node,
            format!("model-index: missing `{what}`; the Hub expects {expected}"),
        )
    };
    let not_mapping = |node: &Node, what: &str| {
        problem(
            node,
            format!(
                "model-index: `{what}` is {}; expected a mapping",
                node.describe()
            ),
        )
    };
    let Value::List(entries) = &index.value else {
        problems.push(problem(
            index,
            format!(
                "model-index is {}; expected a list of entries with `name` and `results`",
                index.describe()
            ),
        ));
        return;
    };
    let mut metric_count = 0usize;
    for entry in entries {
        if !matches!(entry.value, Value::Map(_)) {
            problems.push(not_mapping(entry, "model-index[]"));
            continue;
        }
        if entry.get("name").is_none() {
            problems.push(missing(entry, "name"));
        }
        let Some(results) = entry.get("results") else {
            problems.push(missing(entry, "results"));
            continue;
        };
        for result in iterated(results, "results", problems) {
            if !matches!(result.value, Value::Map(_)) {
                problems.push(not_mapping(result, "results[]"));
                continue;
            }
            match result.get("task") {
                None => problems.push(missing(result, "task.type")),
                Some(task) if !matches!(task.value, Value::Map(_)) => {
                    problems.push(not_mapping(task, "task"))
                }
                Some(task) if task.get("type").is_none() => {
                    problems.push(missing(task, "task.type"))
                }
                Some(_) => {}
            }
            match result.get("dataset") {
                None => {
                    problems.push(missing(result, "dataset.type"));
                    problems.push(missing(result, "dataset.name"));
                }
                Some(dataset) if !matches!(dataset.value, Value::Map(_)) => {
                    problems.push(not_mapping(dataset, "dataset"))
                }
                Some(dataset) => {
                    for key in ["type", "name"] {
                        if dataset.get(key).is_none() {
                            problems.push(missing(dataset, &format!("dataset.{key}")));
                        }
                    }
                }
            }
            let source = result.get("source").filter(|s| s.truthy());
            if let Some(source) = source
                && !matches!(source.value, Value::Map(_))
            {
                problems.push(not_mapping(source, "source"));
            }
            let Some(metrics) = result.get("metrics") else {
                problems.push(missing(result, "metrics"));
                continue;
            };
            for metric in iterated(metrics, "metrics", problems) {
                if !matches!(metric.value, Value::Map(_)) {
                    problems.push(not_mapping(metric, "metrics[]"));
                    continue;
                }
                metric_count += 1;
                for key in ["type", "value"] {
                    if metric.get(key).is_none() {
                        problems.push(missing(metric, &format!("metrics[].{key}")));
                    }
                }
                if let Some(source) = source
                    && source.get("name").is_some_and(|n| !n.is_null())
                    && source.get("url").is_none_or(Node::is_null)
                {
                    problems.push(problem(
                        source,
                        "model-index: `source.name` needs `source.url` beside it".to_owned(),
                    ));
                }
            }
        }
    }
    // huggingface_hub names the model after the last entry and needs a name for results.
    if metric_count > 0
        && let Some(last) = entries.last()
        && last.get("name").is_some_and(Node::is_null)
    {
        problems.push(problem(
            last,
            "model-index: `name` is empty; expected the model's name".to_owned(),
        ));
    }
}

/// The items Python would iterate over in `node` for huggingface_hub's `for x in node`:
/// a list's items; nothing for empty text or an empty mapping; anything else is refused.
fn iterated<'n>(node: &'n Node, what: &str, problems: &mut Vec<HubProblem>) -> &'n [Node] {
    match &node.value {
        Value::List(items) => items,
        Value::Map(entries) if entries.is_empty() => &[],
        Value::Scalar {
            kind: ScalarKind::Text,
            text,
        } if text.is_empty() => &[],
        _ => {
            problems.push(problem(
                node,
                format!(
                    "model-index: `{what}` is {}; expected a list",
                    node.describe()
                ),
            ));
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed_as_pyyaml_types_them() {
        let cases = [
            ("no", ScalarKind::Bool),
            ("On", ScalarKind::Bool),
            ("y", ScalarKind::Text),
            ("~", ScalarKind::Null),
            ("1_000", ScalarKind::Int),
            ("0x1F", ScalarKind::Int),
            ("1:30", ScalarKind::Int),
            ("017", ScalarKind::Int),
            ("1.5", ScalarKind::Float),
            ("1e5", ScalarKind::Text),
            ("1.0e+5", ScalarKind::Float),
            (".inf", ScalarKind::Float),
            ("-.5", ScalarKind::Text),
            ("2023-01-05", ScalarKind::Timestamp),
            ("2001-12-14t21:59:43.10-05:00", ScalarKind::Timestamp),
            ("2023-1-5", ScalarKind::Text),
            ("apache-2.0", ScalarKind::Text),
            ("llama3.1", ScalarKind::Text),
        ];
        for (text, kind) in cases {
            assert_eq!(pyyaml_kind(text), kind, "{text}");
        }
    }

    fn nodes(yaml: &str) -> Node {
        parse_nodes("c.md", yaml, 2).expect("valid YAML")
    }

    #[test]
    fn yaml_11_words_keep_their_text_and_their_place() {
        let root = nodes("language: [en, no]\ntags:\n  - yes\n  - 'no'\n");
        let language = root.get("language").expect("language");
        assert_eq!(language.texts(), Some(vec!["en", "no"]));
        let Value::List(items) = &language.value else {
            panic!("a list")
        };
        assert_eq!((items[1].line, items[1].column), (1, 16));
        assert_eq!(items[1].kind(), Some(ScalarKind::Bool));
        let tags = root.get("tags").expect("tags");
        assert_eq!(tags.texts(), Some(vec!["yes", "no"]));
    }

    fn problems_of(yaml: &str) -> Vec<String> {
        hub_problems(&nodes(yaml), &["apache-2.0", "mit", "other"])
            .into_iter()
            .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
            .collect()
    }

    #[test]
    fn what_huggingface_hub_refuses() {
        assert_eq!(
            problems_of("tags: autotrain\nlicense: [apache-2.0]\nlanguage: [no]\n"),
            Vec::<String>::new()
        );
        let refused = problems_of("yes: 1\ntags: 2023\nlicense: [mit, apache 2]\n");
        assert_eq!(refused.len(), 3, "{refused:#?}");
        assert!(
            refused[0].starts_with("1:1: key `yes` is read by the Hub's YAML loader as a boolean"),
            "{}",
            refused[0]
        );
        assert!(
            refused[1].starts_with("2:7: tags: `2023` is read"),
            "{}",
            refused[1]
        );
        assert!(
            refused[2].starts_with("3:16: license `apache 2` is not"),
            "{}",
            refused[2]
        );
    }

    #[test]
    fn model_index_keys_must_be_present_but_may_be_empty() {
        let fine = "model-index:\n- name: ''\n  results:\n  - task: {type: }\n    dataset: {type: x, name: X}\n    metrics: [{type: acc, value: }]\n";
        assert_eq!(problems_of(fine), Vec::<String>::new());
        let refused = problems_of(
            "model-index:\n- name:\n  results:\n  - task: text\n    dataset: {type: x}\n    metrics: [{type: acc, value: 1}]\n",
        );
        assert_eq!(
            refused,
            [
                "4:11: model-index: `task` is text; expected a mapping",
                "5:14: model-index: missing `dataset.name`; the Hub expects `task.type`, `dataset.type`, `dataset.name` and `metrics` in every result",
                "2:3: model-index: `name` is empty; expected the model's name",
            ]
        );
        assert_eq!(
            problems_of("model-index: {name: m}\n"),
            [
                "1:14: model-index is a mapping; expected a list of entries with `name` and `results`"
            ]
        );
        assert_eq!(problems_of("model-index: []\n"), Vec::<String>::new());
    }

    #[test]
    fn values_pyyaml_cannot_build_are_refused() {
        assert_eq!(
            problems_of("a: 2024-02-29\nb: '2023-02-29'\nc: 2001-12-14 21:59:43.10 -5\n"),
            Vec::<String>::new()
        );
        let refused = problems_of("a: 2023-02-29\nb: =\nc: 2001-12-14t25:00:00\n");
        assert_eq!(refused.len(), 3, "{refused:#?}");
        assert!(
            refused[0].starts_with("1:4: `2023-02-29` is read by the Hub's YAML loader as a date")
        );
        assert!(refused[1].starts_with("2:4: `=` unquoted"));
    }
}
