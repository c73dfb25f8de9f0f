//! `models/<id>/metrics.json`: a flat JSON object of metric name to number.

use indexmap::IndexMap;

use crate::diagnostic::Diagnostic;

pub type Metrics = IndexMap<String, f64>;

pub fn parse_metrics(file: &str, bytes: &[u8]) -> Result<Metrics, Diagnostic> {
    serde_json::from_slice::<Metrics>(bytes).map_err(|error| {
        let mut diagnostic = Diagnostic::from_json(file, &error);
        diagnostic.message = match diagnostic.message {
            m if m.starts_with("invalid type: map") || m.starts_with("invalid type: sequence") => {
                format!("{m}; metrics.json is flat: {{\"metric\": number}}")
            }
            m => m.replace("expected f64", "expected a number"),
        };
        diagnostic
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_flat_object_in_order() {
        let metrics = parse_metrics("m.json", br#"{"auc": 0.81, "log_loss": 0.4}"#).expect("valid");
        assert_eq!(metrics.get_index(0), Some((&"auc".to_owned(), &0.81)));
    }

    #[test]
    fn a_string_value_is_named_with_its_position() {
        let error =
            parse_metrics("m.json", b"{\n  \"auc\": \"high\"\n}").expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "m.json:2:15: invalid type: string \"high\", expected a number"
        );
        let error = parse_metrics("m.json", b"{\"a\": {\"b\": 1}}").expect_err("nested");
        assert!(error.message.contains("flat"), "{error}");
    }
}
