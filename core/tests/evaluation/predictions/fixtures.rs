//! Reads the cases of `fixtures/predictions/*.json` into evaluation rows.

use std::path::PathBuf;

use modelgate_core::predictions::{
    ClassificationRows, Column, GroupColumn, RegressionRows, Rows, Scores,
};
use serde_json::Value;

/// Largest difference tolerated against scikit-learn and fairlearn.
pub const TOLERANCE: f64 = 1e-9;

pub const CASES: [&str; 7] = [
    "breast_cancer_binary",
    "wine_multiclass",
    "generated_binary",
    "generated_multiclass_absent_class",
    "one_class_binary",
    "nothing_predicted_positive",
    "generated_regression",
];

pub struct Case {
    pub name: String,
    pub json: Value,
}

pub fn case(name: &str) -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/predictions")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let json = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
    Case {
        name: name.to_owned(),
        json,
    }
}

fn codes(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("array of codes")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("code")).expect("small code"))
        .collect()
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array of numbers")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array of strings")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

impl Case {
    pub fn task(&self) -> &str {
        self.json["task"].as_str().expect("task")
    }

    /// The head rows as written; `side = "base"` takes the base model's columns where the
    /// case has them.
    pub fn rows(&self) -> Rows {
        self.rows_of(&self.json)
    }

    pub fn base_rows(&self) -> Rows {
        let mut json = self.json.clone();
        let base = self.json["base"].clone();
        for key in ["prediction", "score"] {
            json[key] = base[key].clone();
        }
        self.rows_of(&json)
    }

    fn rows_of(&self, json: &Value) -> Rows {
        let ids = (!json["id"].is_null()).then(|| Column::new("id", strings(&json["id"])));
        if self.task() == "regression" {
            return Rows::Regression(RegressionRows {
                targets: Column::new("target", floats(&json["target"])),
                predictions: Column::new("predicted", floats(&json["predicted"])),
                ids,
            });
        }
        let classes = strings(&json["classes"]);
        let scores = if !json["score"].is_null() {
            Some(Scores::Positive(Column::new(
                "probability",
                floats(&json["score"]),
            )))
        } else if !json["class_scores"].is_null() {
            let columns = json["class_scores"].as_array().expect("class scores");
            Some(Scores::PerClass(
                columns
                    .iter()
                    .zip(&classes)
                    .map(|(column, class)| Column::new(format!("p_{class}"), floats(column)))
                    .collect(),
            ))
        } else {
            None
        };
        let rows = ClassificationRows {
            classes,
            labels: Column::new("label", codes(&json["label"])),
            predictions: (!json["prediction"].is_null())
                .then(|| Column::new("predicted", codes(&json["prediction"]))),
            scores,
            ids,
        };
        match self.task() {
            "binary_classification" => Rows::Binary(rows),
            _ => Rows::Multiclass(rows),
        }
    }

    pub fn groups(&self) -> Vec<GroupColumn> {
        let Some(groups) = self.json["groups"].as_object() else {
            return Vec::new();
        };
        groups
            .iter()
            .map(|(name, values)| {
                let values = strings(values);
                GroupColumn::from_names(name.clone(), values.iter().map(String::as_str))
            })
            .collect()
    }

    pub fn expected(&self, pointer: &str) -> &Value {
        self.json
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{}: no {pointer}", self.name))
    }
}

/// |actual − expected|, failing the test beyond the tolerance; returns the difference.
pub fn close(what: &str, actual: Option<f64>, expected: &Value) -> f64 {
    match (actual, expected.as_f64()) {
        (None, None) => 0.0,
        (Some(actual), Some(expected)) => {
            let difference = (actual - expected).abs();
            assert!(
                difference <= TOLERANCE,
                "{what}: {actual} but expected {expected} (difference {difference:e})"
            );
            difference
        }
        (actual, _) => panic!("{what}: {actual:?} but expected {expected}"),
    }
}
