//! Data files from a pull request (CSV, NDJSON, Parquet) through the table reader and the
//! drift comparison: malformed, truncated and lying files end in an error naming the file,
//! or in a bounded, correct result.

use modelgate_core::drift::{DriftOptions, SampleLimit};
use modelgate_core::table::{CompareError, Table, TableError, compare_tables};
use polars::prelude::*;
use proptest::prelude::*;

use super::json_inputs::json_value;
use super::{ADVERSARIAL_LIMIT, config, fixtures, within};

/// Reads `bytes` as `name` every way modelgate does: schema, all columns, and drift against
/// itself. Never a panic; an error names the file.
fn read_every_way(name: &str, bytes: Vec<u8>, options: &DriftOptions) -> Result<usize, String> {
    let table = Table::from_bytes(name, bytes).map_err(|e| e.to_string())?;
    let check = |error: String| {
        assert!(
            error.contains(name),
            "an error that does not name {name}: {error}"
        );
        error
    };
    let schema = table.schema().map_err(|e| check(e.to_string()))?;
    let frame = table.read(None).map_err(|e| check(e.to_string()))?;
    assert_eq!(
        frame.width(),
        schema.len(),
        "{name}: read and schema disagree"
    );
    match compare_tables(&table, &table, None, options, None) {
        Ok(drift) => {
            assert!(
                !drift.dataset_drift,
                "{name}: a file drifts from itself: {drift:?}"
            );
            for column in &drift.columns {
                assert_eq!(
                    column.reference_rows, column.current_rows,
                    "{name}: {column:?}"
                );
                assert!(
                    column.reference_rows <= frame.height(),
                    "{name}: more rows than the file has"
                );
            }
        }
        Err(CompareError::Table(error)) => {
            check(error.to_string());
        }
        Err(CompareError::Drift(error)) => {
            // Only a column name given twice is a drift error on one file.
            assert!(error.to_string().contains("more than once"), "{error}");
        }
    }
    Ok(frame.height())
}

fn small_sample() -> DriftOptions {
    DriftOptions {
        sample: SampleLimit {
            max_rows: 500,
            seed: 3,
        },
        ..DriftOptions::default()
    }
}

fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "-?[0-9]{1,6}(\\.[0-9]{1,3})?",
        2 => "[a-z]{0,6}",
        2 => prop::sample::select(&[
            "", "NA", "nan", "null", "\"\"", "\"a,b\"", "\"line\nbreak\"", "\"unclosed", "\"\"\"",
            "1e999", "-0", "2024-02-30", "2024-01-01", "2024-01-01T00:00:00", "true", "False",
            "\u{0}", "é", "\r", "  ", "9223372036854775808", "0x10",
        ][..])
        .prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

fn csv_text() -> impl Strategy<Value = String> {
    let header = prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,5}",
            1 => prop::sample::select(&["", "a", "\"q\"", "dup", "dup", "é", "a b"][..]).prop_map(str::to_owned),
        ],
        1..6,
    );
    (
        header,
        prop::collection::vec(prop::collection::vec(csv_field(), 0..7), 0..30),
        any::<bool>(),
    )
        .prop_map(|(header, rows, crlf)| {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut text = header.join(",") + newline;
            for row in rows {
                text.push_str(&row.join(","));
                text.push_str(newline);
            }
            text
        })
}

fn ndjson_text() -> impl Strategy<Value = String> {
    let record = prop_oneof![
        4 => prop::collection::vec(
            (prop::sample::select(&["a", "b", "c"][..]), prop_oneof![
                any::<i64>().prop_map(serde_json::Value::from),
                (-1e9..1e9f64).prop_map(serde_json::Value::from),
                "[a-z]{0,4}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
            ]),
            0..4,
        )
        .prop_map(|fields| serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string()),
        1 => json_value().prop_map(|value| value.to_string()),
        1 => "\\PC{0,20}",
    ];
    prop::collection::vec(record, 0..20).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn csv_files_are_read_or_refused_by_name(text in csv_text()) {
        let lines = text.lines().count();
        if let Ok(height) = read_every_way("data/x.csv", text.into_bytes(), &small_sample()) {
            prop_assert!(height <= lines);
        }
    }

    #[test]
    fn ndjson_files_are_read_or_refused_by_name(text in ndjson_text()) {
        let lines = text.lines().count();
        if let Ok(height) = read_every_way("data/x.ndjson", text.into_bytes(), &small_sample()) {
            prop_assert!(height <= lines.max(1));
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_by_name(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        extension in prop::sample::select(&["csv", "ndjson", "parquet"][..]),
    ) {
        let _ = read_every_way(&format!("data/x.{extension}"), bytes, &small_sample());
    }
}

/// A small data frame of the column types pipelines write, with missing values.
fn frame() -> impl Strategy<Value = DataFrame> {
    (1..60usize).prop_flat_map(|rows| {
        (
            prop::collection::vec(prop::option::of(any::<i64>()), rows),
            prop::collection::vec(prop::option::of(-1e6..1e6f64), rows),
            prop::collection::vec(prop::option::of("[a-c]{1,2}"), rows),
            prop::collection::vec(prop::option::of(any::<bool>()), rows),
        )
            .prop_map(|(ints, floats, texts, flags)| {
                DataFrame::new_infer_height(vec![
                    Column::new("int".into(), ints),
                    Column::new("float".into(), floats),
                    Column::new("text".into(), texts),
                    Column::new("flag".into(), flags),
                ])
                .expect("columns of one length")
            })
    })
}

fn parquet_bytes(frame: &mut DataFrame, row_group: Option<usize>) -> Vec<u8> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_row_group_size(row_group)
        .finish(frame)
        .expect("polars writes Parquet");
    bytes
}

/// A Parquet footer (Thrift compact protocol) read just far enough to find each integer
/// field with its place: `3` is the file's row count, `4.<g>.3` a row group's, `4.<g>.1.<c>.3.5`
/// a column chunk's value count, `4.<g>.1.<c>.3.7` its compressed size.
mod footer {
    #[derive(Debug, Clone)]
    pub struct IntField {
        pub path: String,
        pub start: usize,
        pub end: usize,
    }

    /// The footer's bytes and where they start in `file`.
    pub fn locate(file: &[u8]) -> Option<(usize, usize)> {
        let len_at = file.len().checked_sub(8)?;
        let len = u32::from_le_bytes(file[len_at..len_at + 4].try_into().ok()?) as usize;
        Some((len_at.checked_sub(len)?, len_at))
    }

    pub fn int_fields(footer: &[u8]) -> Option<Vec<IntField>> {
        let mut walker = Walker {
            bytes: footer,
            at: 0,
            found: Vec::new(),
        };
        walker.structure(&mut Vec::new())?;
        Some(walker.found)
    }

    struct Walker<'a> {
        bytes: &'a [u8],
        at: usize,
        found: Vec<IntField>,
    }

    impl Walker<'_> {
        fn byte(&mut self) -> Option<u8> {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            Some(byte)
        }

        fn varint(&mut self) -> Option<u64> {
            let mut value = 0u64;
            for shift in (0..70).step_by(7) {
                let byte = self.byte()?;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Some(value);
                }
            }
            None
        }

        fn skip(&mut self, n: usize) -> Option<()> {
            self.at = self
                .at
                .checked_add(n)
                .filter(|&at| at <= self.bytes.len())?;
            Some(())
        }

        fn structure(&mut self, path: &mut Vec<String>) -> Option<()> {
            let mut last = 0i64;
            loop {
                let header = self.byte()?;
                if header == 0 {
                    return Some(());
                }
                let delta = i64::from(header >> 4);
                let id = if delta == 0 {
                    unzigzag(self.varint()?)
                } else {
                    last + delta
                };
                last = id;
                path.push(id.to_string());
                self.value(header & 0x0f, path)?;
                path.pop();
            }
        }

        fn value(&mut self, kind: u8, path: &mut Vec<String>) -> Option<()> {
            match kind {
                1 | 2 => {}
                3 => self.skip(1)?,
                4..=6 => {
                    let start = self.at;
                    self.varint()?;
                    self.found.push(IntField {
                        path: path.join("."),
                        start,
                        end: self.at,
                    });
                }
                7 => self.skip(8)?,
                8 => {
                    let len = usize::try_from(self.varint()?).ok()?;
                    self.skip(len)?;
                }
                9 | 10 => {
                    let header = self.byte()?;
                    let mut len = u64::from(header >> 4);
                    if len == 15 {
                        len = self.varint()?;
                    }
                    for index in 0..len {
                        path.push(index.to_string());
                        match header & 0x0f {
                            1 | 2 => self.skip(1)?,
                            element => self.value(element, path)?,
                        }
                        path.pop();
                    }
                }
                11 => {
                    let len = self.varint()?;
                    if len > 0 {
                        let kinds = self.byte()?;
                        for _ in 0..len {
                            self.value(kinds >> 4, path)?;
                            self.value(kinds & 0x0f, path)?;
                        }
                    }
                }
                12 => self.structure(path)?,
                _ => return None,
            }
            Some(())
        }
    }

    fn unzigzag(value: u64) -> i64 {
        ((value >> 1) as i64) ^ -((value & 1) as i64)
    }

    pub fn varint(value: i64) -> Vec<u8> {
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            let byte = (zigzag & 0x7f) as u8;
            zigzag >>= 7;
            if zigzag == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    /// `file` with the integer fields whose path matches `wanted` set to `value`.
    pub fn with_field(file: &[u8], wanted: &dyn Fn(&str) -> bool, value: i64) -> Vec<u8> {
        let (start, end) = locate(file).expect("a Parquet footer");
        let footer = &file[start..end];
        let fields = int_fields(footer).expect("a footer polars wrote is readable");
        let mut edited = footer.to_vec();
        let mut matched = 0;
        for field in fields.iter().rev().filter(|f| wanted(&f.path)) {
            edited.splice(field.start..field.end, varint(value));
            matched += 1;
        }
        assert!(matched > 0, "no footer field matched among {fields:?}");
        let mut out = file[..start].to_vec();
        out.extend_from_slice(&edited);
        out.extend_from_slice(&(edited.len() as u32).to_le_bytes());
        out.extend_from_slice(b"PAR1");
        out
    }
}

/// The footer fields a lie is told in.
const LYING_FIELDS: &[&str] = &[
    "file rows",
    "row group rows",
    "value count",
    "compressed size",
    "page offset",
    "uncompressed size",
];

fn lying_field(which: &str) -> Box<dyn Fn(&str) -> bool> {
    let ends = |suffix: &'static str| -> Box<dyn Fn(&str) -> bool> {
        Box::new(move |path: &str| {
            path.starts_with("4.") && path.ends_with(suffix) && path.split('.').count() == 6
        })
    };
    match which {
        "file rows" => Box::new(|path: &str| path == "3"),
        "row group rows" => Box::new(|path: &str| {
            path.starts_with("4.") && path.ends_with(".3") && path.split('.').count() == 3
        }),
        "value count" => ends(".3.5"),
        "uncompressed size" => ends(".3.6"),
        "compressed size" => ends(".3.7"),
        _ => ends(".3.9"),
    }
}

fn lie() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(1 << 40),
        Just(u32::MAX as i64 + 1),
        0..1_000i64,
        any::<i64>(),
    ]
}

proptest! {
    #![proptest_config(config(48))]

    /// An honest file is read back whole and does not drift from itself.
    #[test]
    fn parquet_written_by_polars_is_read_back(mut frame in frame(), group in prop::option::of(1..20usize)) {
        let height = frame.height();
        let bytes = parquet_bytes(&mut frame, group);
        let read = read_every_way("data/x.parquet", bytes, &small_sample()).expect("an honest file");
        prop_assert_eq!(read, height);
    }

    #[test]
    fn parquet_with_a_lying_footer_is_refused_or_bounded(
        mut frame in frame(),
        group in prop::option::of(1..20usize),
        which in prop::sample::select(LYING_FIELDS),
        value in lie(),
    ) {
        let bytes = parquet_bytes(&mut frame, group);
        let lying = footer::with_field(&bytes, &*lying_field(which), value);
        let _ = within("a lying footer", ADVERSARIAL_LIMIT, move || {
            read_every_way("data/x.parquet", lying, &DriftOptions::default())
        });
    }

    #[test]
    fn corrupted_or_truncated_parquet_is_refused_by_name(
        mut frame in frame(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = parquet_bytes(&mut frame, Some(16));
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= byte.max(1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let _ = within("a corrupted file", ADVERSARIAL_LIMIT, move || {
            read_every_way("data/x.parquet", bytes, &small_sample())
        });
    }
}

#[test]
fn the_footer_editor_finds_the_row_counts() {
    let mut frame = DataFrame::new_infer_height(vec![Column::new("a".into(), vec![1i64, 2, 3])])
        .expect("a frame");
    let bytes = parquet_bytes(&mut frame, None);
    let (start, end) = footer::locate(&bytes).expect("a footer");
    let fields = footer::int_fields(&bytes[start..end]).expect("readable");
    assert!(fields.iter().any(|f| f.path == "3"), "{fields:?}");
    // The editor's own output is a file polars reads, with the row count it was given.
    let same = footer::with_field(&bytes, &*lying_field("file rows"), 3);
    assert_eq!(read_every_way("x.parquet", same, &small_sample()), Ok(3));
}

/// Claims of rows a file cannot hold: a clear error, or the rows it has, quickly and without
/// reserving memory for the claim.
#[test]
fn a_footer_claiming_billions_of_rows_is_bounded() {
    let mut frame = DataFrame::new_infer_height(vec![Column::new(
        "a".into(),
        (0..100i64).collect::<Vec<_>>(),
    )])
    .expect("a frame");
    let bytes = parquet_bytes(&mut frame, None);
    for claim in [1i64 << 33, 1 << 40, i64::MAX] {
        for which in ["file rows", "row group rows"] {
            let lying = footer::with_field(&bytes, &*lying_field(which), claim);
            let outcome = within("billions of rows", ADVERSARIAL_LIMIT, move || {
                read_every_way("data/x.parquet", lying, &DriftOptions::default())
            });
            if let Ok(height) = outcome {
                assert!(
                    height <= 100,
                    "{which} {claim}: read {height} rows from 100"
                );
            }
        }
    }
}

/// A real file with millions of equal values is a few kilobytes: the sample bounds what is
/// held, whatever the row count.
#[test]
fn zip_bomb_like_row_counts_are_sampled() {
    let rows = 4_000_000usize;
    let mut frame = DataFrame::new_infer_height(vec![
        Column::new("constant".into(), vec![7i64; rows]),
        Column::new("label".into(), vec!["a"; rows]),
    ])
    .expect("a frame");
    let bytes = parquet_bytes(&mut frame, None);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let mut csv = b"x\n".to_vec();
    csv.extend(b"1\n".repeat(rows));
    for (name, bytes) in [("data/bomb.parquet", bytes), ("data/bomb.csv", csv)] {
        let drift = within(name, ADVERSARIAL_LIMIT, move || {
            let table = Table::from_bytes(name, bytes).expect("a table");
            let options = DriftOptions {
                sample: SampleLimit {
                    max_rows: 1_000,
                    seed: 1,
                },
                ..DriftOptions::default()
            };
            compare_tables(&table, &table, None, &options, None).map_err(|e| e.to_string())
        })
        .expect("compared");
        let sampling = drift.sampling.expect("sampled");
        assert_eq!(sampling.reference.sampled_rows, 1_000, "{name}");
        assert!(
            drift.columns.iter().all(|c| c.reference_rows == 1_000),
            "{name}: {:?}",
            drift.columns
        );
    }
}

#[test]
fn huge_lines_and_wide_headers_are_bounded() {
    let long_field = format!("a,b\n{},1\n", "x".repeat(8 << 20)).into_bytes();
    let wide_header = format!(
        "{}\n",
        (0..20_000)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    )
    .into_bytes();
    let long_json = format!("{{\"a\": \"{}\"}}\n", "y".repeat(8 << 20)).into_bytes();
    let deep_json =
        format!("{{\"a\": {}1{}}}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    for (name, bytes) in [
        ("data/long.csv", long_field),
        ("data/wide.csv", wide_header),
        ("data/long.ndjson", long_json),
        ("data/deep.ndjson", deep_json),
    ] {
        let _ = within(name, ADVERSARIAL_LIMIT, move || {
            read_every_way(name, bytes, &small_sample())
        });
    }
}

/// Every Parquet fixture (the Arrow types pipelines write) truncated at every 1/16th: an
/// error naming the file, never a panic.
#[test]
fn truncated_parquet_fixtures_are_refused_by_name() {
    let folder = fixtures().join("parquet-types");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("fixtures/parquet-types")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    assert!(files.len() > 20);
    for path in files {
        let bytes = std::fs::read(&path).expect("a fixture");
        for sixteenth in 1..16 {
            let cut = bytes[..bytes.len() * sixteenth / 16].to_vec();
            let name = format!(
                "data/{}",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            let what = name.clone();
            let outcome = within(&what, ADVERSARIAL_LIMIT, move || {
                Table::from_bytes(&name, cut)
                    .and_then(|table| table.read(None))
                    .map(|_| ())
            });
            if let Err(error) = outcome {
                assert!(
                    matches!(error, TableError::Read { .. } | TableError::Empty { .. }),
                    "{error}"
                );
            }
        }
    }
}

/// polars parses JSON recursively: a record nested 100,000 deep would overflow the stack and
/// abort the process, so it is refused first, with its place.
#[test]
fn deeply_nested_ndjson_is_refused_before_polars_reads_it() {
    let deep = format!(
        "{{\"a\": 1}}\n{{\"a\": {}1{}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let error =
        Table::from_bytes("data/deep.ndjson", deep.clone().into_bytes()).expect_err("too deep");
    let expected =
        "line 2, column 70: a record nested more than 64 levels deep; expected flat records";
    assert_eq!(error.to_string(), format!("data/deep.ndjson: {expected}"));
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("deep.ndjson");
    std::fs::write(&path, deep).expect("written");
    let error = Table::from_path(&path).expect_err("too deep");
    assert!(error.to_string().ends_with(expected), "{error}");

    // Brackets in strings are text, and nesting within the limit is read.
    let fine = format!(
        "{{\"a\": \"{}\\\"{{\", \"b\": {}1{}}}\n",
        "[".repeat(1_000),
        "[".repeat(10),
        "]".repeat(10)
    );
    let rows = within("shallow json", ADVERSARIAL_LIMIT, move || {
        read_every_way("data/ok.ndjson", fine.into_bytes(), &small_sample())
    });
    assert_eq!(rows, Ok(1));
}
