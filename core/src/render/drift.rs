//! Drift tables: `modelgate drift`'s own output, and the evidence of a drift check.

use std::fmt::Write;

use crate::drift::{ColumnDrift, DatasetDrift};

use super::markdown::{cell, sampling_caption};
use super::statistic;
use super::text::aligned;

fn drift_rows(drift: &DatasetDrift) -> Vec<[String; 6]> {
    let mut columns: Vec<&ColumnDrift> = drift.columns.iter().collect();
    // Drifted columns first: they are what a reviewer needs.
    columns.sort_by_key(|c| !c.drifted);
    columns
        .into_iter()
        .map(|c| {
            let test = c
                .stattest
                .map(|t| t.name().to_owned())
                .unwrap_or_else(|| "skipped".to_owned());
            let verdict = if c.drifted {
                "drifted"
            } else if c.skipped() {
                "skipped"
            } else {
                "stable"
            };
            let notes = c.notes.join("; ");
            [
                c.name.clone(),
                format!("{} {}", c.kind.as_str(), test),
                statistic(c.statistic),
                statistic(c.p_value),
                format!("{} (threshold {})", verdict, statistic(c.threshold)),
                notes,
            ]
        })
        .collect()
}

fn drift_verdict(drift: &DatasetDrift) -> String {
    format!(
        "{}: {} of {} tested column(s) drifted (share {:.2}, dataset drift at {:.2})",
        if drift.dataset_drift {
            "DATASET DRIFT"
        } else {
            "NO DATASET DRIFT"
        },
        drift.drifted_columns,
        drift.tested_columns(),
        drift.share_of_drifted_columns(),
        drift.drift_share
    )
}

/// Says which rows were tested when a side was longer than `drift.max_rows`.
fn sampling_note(drift: &DatasetDrift) -> Option<String> {
    drift.sampling.as_ref().map(sampling_caption)
}

/// `modelgate drift` as text.
pub fn drift_text(drift: &DatasetDrift, reference: &str, current: &str) -> String {
    let mut out = format!(
        "{}\nreference {reference}, current {current}\n",
        drift_verdict(drift)
    );
    if let Some(note) = sampling_note(drift) {
        let _ = writeln!(out, "{note}");
    }
    for change in &drift.schema_changes {
        let _ = writeln!(out, "schema: {change}");
    }
    let _ = writeln!(out);
    let rows = drift_rows(drift);
    let header = [
        "column",
        "kind/test",
        "statistic",
        "p-value",
        "verdict",
        "notes",
    ]
    .map(str::to_owned);
    out.push_str(&aligned(&header, &rows, "", |_| false));
    out
}

/// Drift as Markdown: the drifted columns in a table, the rest collapsed.
pub fn drift_markdown(drift: &DatasetDrift, title: &str) -> String {
    let mut out = format!("**{}** — {}\n\n", cell(title), drift_verdict(drift));
    if let Some(note) = sampling_note(drift) {
        let _ = writeln!(out, "_{}_\n", cell(&note));
    }
    let rows = drift_rows(drift);
    let (drifted, rest): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r[4].starts_with("drifted"));
    let table = |rows: &[[String; 6]]| {
        let mut text = String::from(
            "| Column | Kind / test | Statistic | p-value | Verdict | Notes |\n|---|---|--:|--:|---|---|\n",
        );
        for row in rows {
            let _ = writeln!(
                text,
                "| {} |",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        text
    };
    if !drifted.is_empty() {
        let _ = writeln!(out, "{}", table(&drifted));
    }
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} other column(s)</summary>\n\n{}\n</details>\n",
            rest.len(),
            table(&rest)
        );
    }
    out
}
