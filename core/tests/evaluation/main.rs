//! The evaluation's statistics checked against their references, in one test binary (each
//! binary links polars, so fewer binaries build faster and take less disk).

mod drift_calibration;
mod drift_inputs;
mod drift_oracle;
mod hostile;
mod predictions;
