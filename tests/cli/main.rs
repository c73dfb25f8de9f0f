//! End-to-end tests of the `modelgate` binary on real git repositories built in temporary
//! folders. One test binary, split by concern.

mod approvals;
mod audit;
mod check;
mod demo;
mod lint;
mod site;
mod support;
