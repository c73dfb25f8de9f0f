//! End-to-end tests of the `modelgate` binary on real git repositories built in temporary
//! folders. One test binary, split by concern.

mod action;
mod approvals;
mod audit;
mod bot;
mod check;
mod data_columns;
mod demo;
mod drift;
mod fake_github;
mod history;
mod hub_cards;
mod lint;
mod model_index;
mod profiles;
mod site;
mod snapshots;
mod storage;
mod support;
