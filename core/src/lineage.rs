//! Lineage between models: `base_model` names an upstream model. A change to a model
//! reaches every model downstream of it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::convention::ModelEntry;
use crate::error::Error;

/// Upstream edges between the models of a repository (ids that are not models of the
/// repository, such as Hub model ids, are not part of the graph).
#[derive(Debug, Default, Clone)]
pub struct Lineage {
    upstream: BTreeMap<String, BTreeSet<String>>,
}

impl Lineage {
    pub fn from_models(models: &BTreeMap<String, ModelEntry>) -> Lineage {
        let mut lineage = Lineage::default();
        for (id, entry) in models {
            let ups = lineage.upstream.entry(id.clone()).or_default();
            if let Some(card) = entry.parsed_card() {
                ups.extend(
                    card.base_models()
                        .into_iter()
                        .filter(|up| models.contains_key(*up))
                        .map(str::to_owned),
                );
            }
        }
        lineage
    }

    /// The union of two graphs: a model downstream at either revision is reached.
    pub fn union(mut self, other: &Lineage) -> Lineage {
        for (id, ups) in &other.upstream {
            self.upstream
                .entry(id.clone())
                .or_default()
                .extend(ups.iter().cloned());
        }
        self
    }

    pub fn upstream_of(&self, model: &str) -> impl Iterator<Item = &str> {
        self.upstream
            .get(model)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every model upstream of `model`, transitively, nearest first.
    pub fn ancestors(&self, model: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut queue: VecDeque<&str> = self.upstream_of(model).collect();
        while let Some(next) = queue.pop_front() {
            if next == model || found.iter().any(|f| f == next) {
                continue;
            }
            found.push(next.to_owned());
            queue.extend(self.upstream_of(next));
        }
        found
    }

    /// Fails with the first cycle found, named from its first model back to it.
    pub fn check_acyclic(&self) -> Result<(), Error> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
        for start in self.upstream.keys() {
            if marks.contains_key(start.as_str()) {
                continue;
            }
            // Iterative depth-first search; `path` holds the models being visited.
            let mut path: Vec<&str> = vec![start];
            let mut pending: Vec<Vec<&str>> = vec![self.upstream_of(start).collect()];
            marks.insert(start, Mark::Visiting);
            while let Some(children) = pending.last_mut() {
                match children.pop() {
                    Some(next) => match marks.get(next) {
                        Some(Mark::Done) => {}
                        Some(Mark::Visiting) => {
                            let from = path.iter().position(|m| *m == next).unwrap_or(0);
                            let mut cycle: Vec<String> =
                                path[from..].iter().map(|m| (*m).to_owned()).collect();
                            cycle.push(next.to_owned());
                            // Read downstream to upstream: `a -> b` means a's base_model is b.
                            return Err(Error::LineageCycle { cycle });
                        }
                        None => {
                            marks.insert(next, Mark::Visiting);
                            path.push(next);
                            pending.push(self.upstream_of(next).collect());
                        }
                    },
                    None => {
                        if let Some(done) = path.pop() {
                            marks.insert(done, Mark::Done);
                        }
                        pending.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// Every model downstream of `touched` (transitively), each with the upstream models
    /// through which the change reached it.
    pub fn downstream(&self, touched: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
        let mut downstream_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (model, ups) in &self.upstream {
            for up in ups {
                downstream_of
                    .entry(up.as_str())
                    .or_default()
                    .push(model.as_str());
            }
        }
        let mut reached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut queue: VecDeque<&str> = touched.iter().map(String::as_str).collect();
        while let Some(model) = queue.pop_front() {
            for &child in downstream_of.get(model).into_iter().flatten() {
                let is_new = !touched.contains(child) && !reached.contains_key(child);
                if !touched.contains(child) {
                    reached
                        .entry(child.to_owned())
                        .or_default()
                        .insert(model.to_owned());
                }
                if is_new {
                    queue.push_back(child);
                }
            }
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Lineage {
        let mut lineage = Lineage::default();
        for (model, up) in edges {
            lineage
                .upstream
                .entry((*model).to_owned())
                .or_default()
                .insert((*up).to_owned());
            lineage.upstream.entry((*up).to_owned()).or_default();
        }
        lineage
    }

    #[test]
    fn a_cycle_is_named() {
        let error = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])
            .check_acyclic()
            .expect_err("cycle");
        match error {
            Error::LineageCycle { cycle } => assert_eq!(cycle, ["a", "b", "c", "a"]),
            other => panic!("unexpected {other}"),
        }
        assert!(
            graph(&[("a", "b"), ("c", "b"), ("d", "a")])
                .check_acyclic()
                .is_ok()
        );
    }

    #[test]
    fn downstream_is_transitive_with_reasons() {
        let lineage = graph(&[
            ("child", "base"),
            ("grandchild", "child"),
            ("other", "unrelated"),
        ]);
        let reached = lineage.downstream(&BTreeSet::from(["base".to_owned()]));
        assert_eq!(reached.len(), 2);
        assert_eq!(reached["child"], BTreeSet::from(["base".to_owned()]));
        assert_eq!(reached["grandchild"], BTreeSet::from(["child".to_owned()]));
    }
}
