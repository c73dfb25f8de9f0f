//! Tests of the predictions module: metrics against scikit-learn, fairness against
//! fairlearn (expected values in `fixtures/predictions/`, written by its
//! `make_expected.py`), the bootstrap, and the edge cases of evaluation rows.

mod bootstrap;
mod edge_cases;
mod fairness;
mod fixtures;
mod metrics;
