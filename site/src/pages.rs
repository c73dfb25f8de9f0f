//! Pages: each one a template rendered over a JSON context built here. Contexts carry
//! plain text (Tera escapes it) except for two kinds of HTML built by this crate: card
//! bodies, sanitized by [`MarkdownRenderer`], and SVG pictures, whose text is escaped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use modelgate_core::audit::{ControlException, ExceptionKind};
use modelgate_core::card::Direction;
use modelgate_core::checks::regression::{applied_rule, direction_from_name, head_bound};
use modelgate_core::render::number;
use modelgate_core::sha::ShortSha;
use modelgate_core::stages::{Action, StageEvent};
use serde_json::{Value, json};

use crate::collect::{Dataset, KeptEvidence, Model, Site, Version};
use crate::links::{self, root_of};
use crate::markdown::MarkdownRenderer;
use crate::svg::{self, Node, NodeKind, Point};
use crate::theme::Theme;
use crate::{BuildSummary, SiteError};
use crate::{documentation, evidence, export};

const SITE_TITLE: &str = "Model governance";

/// Everything a page needs besides its own data.
struct Renderer<'a> {
    site: &'a Site,
    theme: &'a Theme,
    markdown: MarkdownRenderer,
    out: &'a Path,
    base_url: Option<&'a str>,
    models_by_id: HashMap<&'a str, &'a Model>,
    datasets_by_path: HashMap<&'a str, &'a Dataset>,
    /// Models whose current card names each model as `base_model`.
    downstream: BTreeMap<&'a str, Vec<&'a str>>,
    /// Versions by commit id: (model, version) pairs, for links from audit records.
    versions_by_commit: HashMap<&'a str, Vec<(&'a Model, &'a Version)>>,
    pages: AtomicUsize,
    files: AtomicUsize,
}

pub fn render(
    site: &Site,
    theme: &Theme,
    out: &Path,
    base_url: Option<&str>,
) -> Result<BuildSummary, SiteError> {
    let mut downstream: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut versions_by_commit: HashMap<&str, Vec<(&Model, &Version)>> = HashMap::new();
    for model in &site.models {
        if let Some(card) = model.current().and_then(|v| v.card.as_ref())
            && !model.retired
        {
            for up in &card.base_models {
                downstream.entry(up.as_str()).or_default().push(&model.id);
            }
        }
        for version in &model.versions {
            versions_by_commit
                .entry(version.commit.id.as_str())
                .or_default()
                .push((model, version));
        }
    }
    let renderer = Renderer {
        site,
        theme,
        markdown: MarkdownRenderer::default(),
        out,
        base_url,
        models_by_id: site.models.iter().map(|m| (m.id.as_str(), m)).collect(),
        datasets_by_path: site.datasets.iter().map(|d| (d.path.as_str(), d)).collect(),
        downstream,
        versions_by_commit,
        pages: AtomicUsize::new(0),
        files: AtomicUsize::new(0),
    };

    for (name, content) in &theme.assets {
        renderer.write(name, content)?;
    }
    renderer.index()?;
    renderer.lineage_page()?;
    renderer.audit_page()?;
    for index in 0..site.ledger.records.len() {
        renderer.evidence_page(index)?;
    }
    for dataset in &site.datasets {
        renderer.dataset_page(dataset)?;
    }
    renderer.write(
        "models.json",
        &pretty(&export::models_json(site, base_url))?,
    )?;
    renderer.write("inventory.json", &pretty(&export::inventory_json(site))?)?;
    renderer.write("inventory.csv", export::inventory_csv(site).as_bytes())?;

    // Model and version pages are most of the work; they share nothing mutable, so the
    // models are spread over the machine's cores.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<SiteError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(model) = site.models.get(index) else {
                        break;
                    };
                    if let Err(error) = renderer.model_pages(model) {
                        if let Ok(mut slot) = failure.lock() {
                            slot.get_or_insert(error);
                        }
                        next.store(site.models.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().ok().flatten() {
        return Err(error);
    }
    Ok(BuildSummary {
        pages: renderer.pages.load(Ordering::Relaxed),
        files: renderer.files.load(Ordering::Relaxed),
        models: site.models.len(),
        versions: site.models.iter().map(|m| m.versions.len()).sum(),
        datasets: site.datasets.len(),
    })
}

fn pretty(value: &Value) -> Result<Vec<u8>, SiteError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| SiteError::Export(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Renderer<'_> {
    fn write(&self, relative: &str, content: &[u8]) -> Result<(), SiteError> {
        let path: PathBuf = self.out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SiteError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, content).map_err(|source| SiteError::Write { path, source })?;
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn page(&self, path: &str, template: &str, mut context: Value) -> Result<(), SiteError> {
        let root = root_of(path);
        if let Some(object) = context.as_object_mut() {
            object.insert("root".into(), json!(root));
            object.insert("site_title".into(), json!(SITE_TITLE));
            object.insert(
                "build".into(),
                json!({
                    "rev": self.site.rev,
                    "commit": self.site.tip.id,
                    "short": ShortSha(&self.site.tip.id).to_string(),
                    "date": links::date(self.site.tip.time),
                }),
            );
            object.insert(
                "csp".into(),
                json!(format!(
                    "default-src 'none'; style-src 'self'; img-src 'self'; script-src {}; base-uri 'none'; form-action 'none'",
                    self.theme.search_script_hash
                )),
            );
            if let Some(base) = self.base_url {
                object.insert("canonical".into(), json!(format!("{base}{path}")));
            }
        }
        let context =
            tera::Context::from_value(context).map_err(|e| SiteError::template(template, &e))?;
        let html = self
            .theme
            .tera
            .render(template, &context)
            .map_err(|e| SiteError::template(template, &e))?;
        self.write(path, html.as_bytes())?;
        self.pages.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn model_link(&self, id: &str, from: &str) -> Option<String> {
        self.models_by_id
            .get(id)
            .map(|m| format!("{}{}", root_of(from), links::model_page(&m.slug)))
    }

    fn dataset_link(&self, path: &str, from: &str) -> Option<String> {
        self.datasets_by_path
            .get(path)
            .map(|d| format!("{}{}", root_of(from), links::dataset_page(&d.slug)))
    }

    fn index(&self) -> Result<(), SiteError> {
        let path = links::INDEX;
        let rows: Vec<Value> = self.site.models.iter().map(|m| self.index_row(m)).collect();
        let mut tiers: Vec<Value> = Vec::new();
        let tier_names: Vec<String> = self
            .site
            .policy
            .tiers
            .keys()
            .rev()
            .cloned()
            .chain(std::iter::once(String::new()))
            .collect();
        for tier in &tier_names {
            let members: Vec<&Value> = rows
                .iter()
                .filter(|r| r["tier"].as_str().unwrap_or_default() == tier)
                .collect();
            if members.is_empty() {
                continue;
            }
            let name = if tier.is_empty() {
                "no tier"
            } else {
                tier.as_str()
            };
            tiers.push(json!({"name": name, "value": tier, "anchor": format!("tier-{}", links::slug(name)), "models": members}));
        }
        let mut statuses: Vec<Value> = Vec::new();
        for (key, words) in [
            ("review-overdue", "Review overdue"),
            ("card-unreadable", "Card unreadable"),
            ("card-problems", "Card has problems"),
            ("active", "Active"),
            ("retired", "Retired"),
        ] {
            let members: Vec<&Value> = rows.iter().filter(|r| r["status"] == key).collect();
            if !members.is_empty() {
                statuses.push(json!({"key": key, "name": words, "anchor": format!("status-{key}"), "models": members}));
            }
        }
        let overdue = rows
            .iter()
            .filter(|r| r["status"] == "review-overdue")
            .count();
        let data = serde_json::to_string(&export::models_json(self.site, self.base_url))
            .map_err(|e| SiteError::Export(e.to_string()))?;
        let context = json!({
            "title": SITE_TITLE,
            "nav": "index",
            "models": rows,
            "tiers": tiers,
            "statuses": statuses,
            "counts": {
                "models": self.site.models.len(),
                "active": self.site.models.iter().filter(|m| !m.retired).count(),
                "overdue": overdue,
                "datasets": self.site.datasets.len(),
            },
            "ledger_intact": self.site.ledger.problems.is_empty(),
            "ledger_records": self.site.ledger.records.len(),
            "models_data": script_safe_json(&data),
            "search_script": self.theme.search_script,
        });
        self.page(path, "index.html", context)
    }

    fn index_row(&self, model: &Model) -> Value {
        let path = links::INDEX;
        let current = model.current();
        let card = current.and_then(|v| v.card.as_ref());
        let (status, status_words) = export::status(model);
        json!({
            "id": model.id,
            "anchor": format!("model-{}", model.slug),
            "url": links::model_page(&model.slug),
            "tier": model.tier().unwrap_or_default(),
            "owners": card.map(|c| c.owners.join(", ")).unwrap_or_default(),
            "latest": current.map(Version::display_label),
            "latest_url": current.map(|v| format!("{}{}", root_of(path), links::version_page(&model.slug, &v.key))),
            "last_change": model.versions.last().map(|v| links::date(v.commit.time)),
            "status": status,
            "status_words": status_words,
            "review_due": model.review.due.map(links::date),
            "overdue": model.review.overdue,
        })
    }

    fn model_pages(&self, model: &Model) -> Result<(), SiteError> {
        for (index, version) in model.versions.iter().enumerate() {
            self.version_page(model, index, version)?;
        }
        self.model_page(model)
    }

    fn model_page(&self, model: &Model) -> Result<(), SiteError> {
        let path = links::model_page(&model.slug);
        let current = model.current();
        let card = current.and_then(|v| v.card.as_ref());
        let (status, status_words) = export::status(model);

        // Metric names in order of first appearance, each with its history: the value at
        // each version, the bound of the rule in force then, and what the recorded decision
        // of that version found.
        let mut series: Vec<(String, Vec<Point>)> = Vec::new();
        for version in model.versions.iter().filter(|v| !v.removed) {
            let record = self.site.record_of_version(model, version);
            for (name, value) in version.metrics.iter().flatten() {
                let previous = series
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, points)| points.last())
                    .map(|p| p.value);
                let card_rule = version.card.as_ref().and_then(|c| c.metric_rules.get(name));
                let rule = applied_rule(name, card_rule, &self.site.policy.regression);
                let judged = record
                    .and_then(|(_, report)| report)
                    .and_then(|report| evidence::judged_metric(report, &model.id, name));
                let interval = judged.and_then(|m| {
                    let base = m["base"].as_f64()?;
                    Some((base + m["ci_low"].as_f64()?, base + m["ci_high"].as_f64()?))
                });
                let point = Point {
                    label: version.display_label(),
                    date: links::date(version.commit.time),
                    value: *value,
                    bound: head_bound(&rule.bounds, previous),
                    interval,
                    verdict: record.map(|(r, _)| r.conclusion.clone()),
                };
                match series.iter_mut().find(|(n, _)| n == name) {
                    Some((_, points)) => points.push(point),
                    None => series.push((name.clone(), vec![point])),
                }
            }
        }
        let latest_metrics = current.and_then(|v| v.metrics.as_ref());
        let metrics: Vec<Value> = series
            .iter()
            .enumerate()
            .map(|(i, (name, points))| {
                json!({
                    "name": name,
                    "latest": number(latest_metrics.and_then(|m| m.get(name).copied())),
                    "direction": direction_words(name),
                    "chart": svg::metric_chart(&format!("chart-{i}"), name, points),
                    "rows": points.iter().map(|p| json!({
                        "label": p.label,
                        "date": p.date,
                        "value": number(Some(p.value)),
                        "bound": p.bound.map(|b| number(Some(b))),
                        "interval": p.interval.map(|(lo, hi)| format!("[{}, {}]", number(Some(lo)), number(Some(hi)))),
                        "verdict": p.verdict,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();

        let versions: Vec<Value> = model
            .versions
            .iter()
            .rev()
            .map(|v| self.version_row(model, v, &path))
            .collect();

        let approvals: Vec<Value> = model
            .records
            .iter()
            .rev()
            .filter_map(|index| self.record_context(*index, &path, Some(&model.id)))
            .collect();

        let context = json!({
            "title": format!("{} — model", model.id),
            "nav": "models",
            "model": {
                "id": model.id,
                "status": status,
                "status_words": status_words,
                "retired": model.retired,
                "tier": model.tier(),
                "owners": card.map(|c| c.owners.clone()).unwrap_or_default(),
                "latest": current.map(Version::display_label),
                "latest_url": current.map(|v| format!("{}{}", root_of(&path), links::version_page(&model.slug, &v.key))),
                "latest_date": current.map(|v| links::date(v.commit.time)),
                "exports": current.filter(|v| v.card.is_some()).map(|v| json!({
                    "card_json": format!("{}/card.json", v.key),
                    "readme": format!("{}/README.md", v.key),
                })),
            },
            "review": {
                "every_days": model.review.every_days,
                "last": model.review.last.map(links::date),
                "due": model.review.due.map(links::date),
                "overdue": model.review.overdue,
            },
            "card": current.map(|v| self.card_context(v)),
            "metrics": metrics,
            "versions": versions,
            "lineage": self.neighbourhood(model, &path),
            "approvals": approvals,
            "exceptions": self.model_exceptions(model, &path),
            "stages": self.stage_timeline(model, &path),
        });
        self.page(&path, "model.html", context)
    }

    fn version_row(&self, model: &Model, version: &Version, from: &str) -> Value {
        json!({
            "label": version.display_label(),
            "url": format!("{}{}", root_of(from), links::version_page(&model.slug, &version.key)),
            "date": links::date(version.commit.time),
            "commit": ShortSha(&version.commit.id).to_string(),
            "summary": version.commit.summary,
            "author": version.commit.author,
            "releases": version.releases,
            "removed": version.removed,
        })
    }

    /// The card of a version: its body as sanitized HTML, front matter rows, problems.
    fn card_context(&self, version: &Version) -> Value {
        match &version.card {
            Some(card) => json!({
                "html": self.markdown.render(&card.body),
                "front_matter": card.front_matter.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
                "problems": card.problems,
                "error": null,
            }),
            None => json!({
                "html": "",
                "front_matter": [],
                "problems": [],
                "error": version.card_error.clone().unwrap_or_else(|| "no card".to_owned()),
            }),
        }
    }

    fn version_page(
        &self,
        model: &Model,
        index: usize,
        version: &Version,
    ) -> Result<(), SiteError> {
        let path = links::version_page(&model.slug, &version.key);
        let previous = model.versions[..index].iter().rev().find(|v| !v.removed);
        let next = model.versions.get(index + 1);
        let root = root_of(&path);
        let link = |v: &Version| {
            json!({
                "label": v.display_label(),
                "url": format!("{root}{}", links::version_page(&model.slug, &v.key)),
                "date": links::date(v.commit.time),
            })
        };
        let deltas = metric_deltas(
            previous.and_then(|p| p.metrics.as_ref()),
            version.metrics.as_ref(),
        );
        let diff = match (
            previous.and_then(|p| p.card.as_ref()),
            version.card.as_ref(),
        ) {
            (Some(before), Some(after)) => card_diff(&before.text, &after.text),
            (None, Some(after)) => card_diff("", &after.text),
            _ => Vec::new(),
        };
        let approvals: Vec<Value> = model
            .records
            .iter()
            .filter(|i| self.site.ledger.records[**i].commit == version.commit.id)
            .filter_map(|i| self.record_context(*i, &path, Some(&model.id)))
            .collect();
        let dir = links::version_dir(&model.slug, &version.key);
        let has_card = version.card.is_some();
        let documentation = documentation::annex_iv(&documentation::Sources {
            site: self.site,
            model,
            index,
            datasets: &self.datasets_by_path,
        });
        let context = json!({
            "title": format!("{} {} — version", model.id, version.display_label()),
            "nav": "models",
            "model": {
                "id": model.id,
                "url": format!("{root}{}", links::model_page(&model.slug)),
                "retired": model.retired,
            },
            "version": {
                "label": version.display_label(),
                "commit": version.commit.id,
                "short": ShortSha(&version.commit.id).to_string(),
                "date": links::date(version.commit.time),
                "author": version.commit.author,
                "summary": version.commit.summary,
                "releases": version.releases,
                "removed": version.removed,
                "metrics_error": version.metrics_error,
                "tier": version.card.as_ref().and_then(|c| c.tier.clone()),
            },
            "previous": previous.map(link),
            "next": next.map(link),
            "first": previous.is_none(),
            "deltas": deltas,
            "diff": diff,
            "card": self.card_context(version),
            "approvals": approvals,
            "exports": has_card,
            "documentation": documentation.as_ref().map(|items| json!({
                "missing": items.iter().filter(|i| i.missing).map(|i| i.point).collect::<Vec<_>>(),
            })),
        });
        self.page(&path, "version.html", context)?;
        if let Some(items) = &documentation {
            self.technical_documentation(model, version, &dir, items)?;
        }
        if has_card {
            let card_json = export::model_card_toolkit(model, version);
            self.write(&format!("{dir}/card.json"), &pretty(&card_json)?)?;
            if let Some(readme) = export::hub_readme(version) {
                self.write(&format!("{dir}/README.md"), readme.as_bytes())?;
            }
        }
        Ok(())
    }

    /// `technical-documentation.html` and `.md` of a version, from one Markdown per point.
    fn technical_documentation(
        &self,
        model: &Model,
        version: &Version,
        dir: &str,
        items: &[documentation::Item],
    ) -> Result<(), SiteError> {
        let path = format!("{dir}/{}", links::TECHNICAL_DOCUMENTATION);
        let root = root_of(&path);
        self.write(
            &format!("{dir}/technical-documentation.md"),
            documentation::markdown(model, version, items).as_bytes(),
        )?;
        let context = json!({
            "title": format!("{} {} — technical documentation", model.id, version.display_label()),
            "nav": "models",
            "model": {"id": model.id, "url": format!("{root}{}", links::model_page(&model.slug))},
            "version": {
                "label": version.display_label(),
                "url": "index.html",
                "commit": version.commit.id,
                "date": links::date(version.commit.time),
            },
            "missing": items.iter().filter(|i| i.missing).map(|i| i.point).collect::<Vec<_>>(),
            "items": items.iter().map(|item| json!({
                "point": item.point,
                "anchor": format!("point-{}", links::slug(item.point)),
                "title": item.title,
                "missing": item.missing,
                "html": self.markdown.render(&item.body),
            })).collect::<Vec<_>>(),
        });
        self.page(&path, "documentation.html", context)
    }

    /// The model's datasets, upstream and downstream models, as a small lineage picture.
    fn neighbourhood(&self, model: &Model, from: &str) -> Value {
        let card = model.current().and_then(|v| v.card.as_ref());
        let mut nodes = vec![Node {
            label: model.id.clone(),
            kind: if model.retired {
                NodeKind::Retired
            } else {
                NodeKind::Model
            },
            href: format!("{}{}", root_of(from), links::model_page(&model.slug)),
            current: true,
        }];
        let mut edges = Vec::new();
        let mut upstream = Vec::new();
        let mut datasets = Vec::new();
        if let Some(card) = card {
            for (role, path) in &card.datasets {
                nodes.push(Node {
                    label: path.clone(),
                    kind: NodeKind::Dataset,
                    href: self.dataset_link(path, from).unwrap_or_default(),
                    current: false,
                });
                edges.push((nodes.len() - 1, 0));
                datasets.push(
                    json!({"path": path, "role": role, "url": self.dataset_link(path, from)}),
                );
            }
            for up in &card.base_models {
                let Some(link) = self.model_link(up, from) else {
                    continue;
                };
                nodes.push(Node {
                    label: up.clone(),
                    kind: self.node_kind(up),
                    href: link.clone(),
                    current: false,
                });
                edges.push((nodes.len() - 1, 0));
                upstream.push(json!({"id": up, "url": link}));
            }
        }
        let mut downstream = Vec::new();
        for down in self.downstream.get(model.id.as_str()).into_iter().flatten() {
            let Some(link) = self.model_link(down, from) else {
                continue;
            };
            nodes.push(Node {
                label: (*down).to_owned(),
                kind: self.node_kind(down),
                href: link.clone(),
                current: false,
            });
            edges.push((0, nodes.len() - 1));
            downstream.push(json!({"id": down, "url": link}));
        }
        let label = format!(
            "Lineage of {}: {} dataset(s) and {} upstream model(s) feed it; {} model(s) build on it",
            model.id,
            datasets.len(),
            upstream.len(),
            downstream.len()
        );
        json!({
            "svg": svg::lineage(&label, &nodes, &edges),
            "datasets": datasets,
            "upstream": upstream,
            "downstream": downstream,
        })
    }

    fn node_kind(&self, id: &str) -> NodeKind {
        match self.models_by_id.get(id) {
            Some(m) if m.retired => NodeKind::Retired,
            _ => NodeKind::Model,
        }
    }

    /// An audit record, with links to the versions it names, for a page at `from`.
    fn record_context(&self, index: usize, from: &str, only: Option<&str>) -> Option<Value> {
        let record = self.site.ledger.records.get(index)?;
        let root = root_of(from);
        let models: Vec<Value> = record
            .models
            .iter()
            .filter(|m| only.is_none_or(|o| o == m.id))
            .map(|m| {
                let version_url = self
                    .versions_by_commit
                    .get(record.commit.as_str())
                    .and_then(|vs| vs.iter().find(|(model, _)| model.id == m.id))
                    .map(|(model, v)| {
                        format!("{root}{}", links::version_page(&model.slug, &v.key))
                    });
                json!({
                    "id": m.id,
                    "url": self.model_link(&m.id, from),
                    "change": m.change,
                    "version": m.version,
                    "version_url": version_url,
                })
            })
            .collect();
        Some(json!({
            "sequence": record.sequence,
            "commit": ShortSha(&record.commit).to_string(),
            "date": self.site.ledger.times.get(index).copied().flatten().map(links::date),
            "pr": record.pr,
            "tier": record.tier,
            "conclusion": record.conclusion,
            "approvers": record.approvers.iter().map(|a| a.login.clone()).collect::<Vec<_>>(),
            "risks": record.accepted_risks.iter().map(|r| json!({
                "by": r.by, "reason": r.reason, "checks": r.checks,
            })).collect::<Vec<_>>(),
            "models": models,
            "digest": ShortSha(&record.digest).to_string(),
            "evidence_url": format!("{root}{}", links::record_page(record.sequence)),
            "evidence_kept": record.evidence.is_some(),
        }))
    }

    /// A control exception, with links to its models and record, for a page at `from`.
    fn exception_context(&self, exception: &ControlException, from: &str) -> Value {
        let root = root_of(from);
        let words = match exception.kind {
            ExceptionKind::Unrecorded => "No decision recorded",
            ExceptionKind::Failed => "Merged despite a failing decision",
            ExceptionKind::Unapproved => "Merged without its approvals",
        };
        json!({
            "kind": exception.kind.as_str(),
            "words": words,
            "commit": ShortSha(&exception.commit).to_string(),
            "date": links::date(exception.time),
            "models": exception.models.iter().map(|id| json!({"id": id, "url": self.model_link(id, from)})).collect::<Vec<_>>(),
            "summary": exception.summary,
            "record": exception.record,
            "record_url": exception.record.map(|sequence| format!("{root}{}", links::record_page(sequence))),
        })
    }

    /// The model's stage timeline from GTO tags: each stage, what holds it now, and every
    /// assignment and unassignment, newest first.
    fn stage_timeline(&self, model: &Model, from: &str) -> Vec<Value> {
        let root = root_of(from);
        let Some(history) = self.site.stages.get(&model.id) else {
            return Vec::new();
        };
        let event_context = |event: &StageEvent| {
            let version_url = model
                .versions
                .iter()
                .rev()
                .find(|v| v.commit.id == event.commit)
                .map(|v| format!("{root}{}", links::version_page(&model.slug, &v.key)));
            json!({
                "action": match event.action { Action::Assign => "assigned", Action::Unassign => "unassigned" },
                "tag": event.tag,
                "date": event.time,
                "by": event.by,
                "version": event.version,
                "version_url": version_url,
                "commit": ShortSha(&event.commit).to_string(),
                "decision": event.decision.as_ref().map(|d| json!({
                    "sequence": d.sequence,
                    "url": format!("{root}{}", links::record_page(d.sequence)),
                    "conclusion": d.conclusion,
                    "approvers": d.approvers,
                    "risks": d.accepted_risks.len(),
                })),
            })
        };
        history
            .stages
            .iter()
            .map(|(stage, events)| {
                json!({
                    "stage": stage,
                    "anchor": format!("stage-{}", links::slug(stage)),
                    "now": history.held_at(stage, i64::MAX).map(event_context),
                    "events": events.iter().rev().map(event_context).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// The model's own control exceptions, newest first.
    fn model_exceptions(&self, model: &Model, from: &str) -> Vec<Value> {
        self.site
            .ledger
            .controls
            .exceptions
            .iter()
            .rev()
            .filter(|e| e.models.contains(&model.id))
            .map(|e| self.exception_context(e, from))
            .collect()
    }

    /// The evidence page of one record: the report it keeps, as the pull request saw it.
    fn evidence_page(&self, index: usize) -> Result<(), SiteError> {
        let Some(record) = self.site.ledger.records.get(index) else {
            return Ok(());
        };
        let path = links::record_page(record.sequence);
        let (kept, reason, report, facts) = match self.site.ledger.evidence.get(index) {
            Some(KeptEvidence::Kept { report, facts }) => (
                "kept",
                None,
                Some(evidence::report_context(report)),
                facts.as_ref().map(evidence::facts_context),
            ),
            Some(KeptEvidence::Unreadable(reason)) => {
                ("unreadable", Some(reason.clone()), None, None)
            }
            Some(KeptEvidence::NotKept) | None => ("not-kept", None, None, None),
        };
        let exceptions: Vec<Value> = self
            .site
            .ledger
            .controls
            .exceptions
            .iter()
            .filter(|e| e.record == Some(record.sequence))
            .map(|e| self.exception_context(e, &path))
            .collect();
        let context = json!({
            "title": format!("Record #{} — evidence", record.sequence),
            "nav": "audit",
            "record": self.record_context(index, &path, None),
            "kept": kept,
            "reason": reason,
            "report": report,
            "facts": facts,
            "exceptions": exceptions,
            "report_sha256": record.report_sha256,
            "policy_sha256": record.policy_sha256,
            "digest": record.digest,
            "full_commit": record.commit,
        });
        self.page(&path, "evidence.html", context)
    }

    fn dataset_page(&self, dataset: &Dataset) -> Result<(), SiteError> {
        let path = links::dataset_page(&dataset.slug);
        let current = dataset.versions.iter().rev().find(|v| !v.removed);
        let mut previous: Option<&crate::collect::DatasetVersion> = None;
        let mut versions = Vec::new();
        for version in &dataset.versions {
            let change = |now: Option<u64>, before: Option<u64>| match (now, before) {
                (Some(a), Some(b)) if a != b => Some(signed(a, b)),
                _ => None,
            };
            let before = previous.filter(|p| !p.removed);
            let columns_changed = match (
                before.and_then(|b| b.columns.as_ref()),
                version.columns.as_ref(),
            ) {
                (Some(a), Some(b)) => {
                    let added: Vec<&String> = b.iter().filter(|c| !a.contains(c)).collect();
                    let removed: Vec<&String> = a.iter().filter(|c| !b.contains(c)).collect();
                    (!added.is_empty() || !removed.is_empty())
                        .then(|| json!({"added": added, "removed": removed}))
                }
                _ => None,
            };
            versions.push(json!({
                "date": links::date(version.commit.time),
                "commit": ShortSha(&version.commit.id).to_string(),
                "summary": version.commit.summary,
                "removed": version.removed,
                "size": human_size(version.size),
                "size_change": change(Some(version.size), before.map(|b| b.size)),
                "rows": version.rows,
                "rows_change": change(version.rows, before.and_then(|b| b.rows)),
                "columns_changed": columns_changed,
            }));
            previous = Some(version);
        }
        versions.reverse();
        let used_by: Vec<Value> = dataset
            .used_by
            .iter()
            .map(|(id, role)| json!({"id": id, "role": role, "url": self.model_link(id, &path)}))
            .collect();
        let context = json!({
            "title": format!("{} — dataset", dataset.path),
            "nav": "models",
            "dataset": {
                "path": dataset.path,
                "kind": dataset.kind,
                "removed": current.is_none(),
                "size": current.map(|c| human_size(c.size)),
                "rows": current.and_then(|c| c.rows),
                "columns": current.and_then(|c| c.columns.clone()),
                "profile": current.and_then(|c| c.profile.as_ref()).map(|columns| {
                    columns.iter().map(|c| json!({
                        "name": c.name,
                        "kind": c.kind,
                        "nulls": c.nulls,
                        "null_share": format!("{:.1}%", c.nulls as f64 * 100.0 / c.rows.max(1) as f64),
                        "distinct": c.distinct,
                        "min": profile_number(c.min),
                        "mean": profile_number(c.mean),
                        "max": profile_number(c.max),
                        "top": c.top.as_ref().map_or_else(
                            || "—".to_owned(),
                            |(level, share)| format!("{level} ({:.1}%)", share * 100.0),
                        ),
                    })).collect::<Vec<_>>()
                }),
            },
            "versions": versions,
            "used_by": used_by,
        });
        self.page(&path, "dataset.html", context)
    }

    fn lineage_page(&self) -> Result<(), SiteError> {
        let path = links::LINEAGE;
        let mut nodes = Vec::new();
        let mut dataset_nodes: HashMap<&str, usize> = HashMap::new();
        for dataset in &self.site.datasets {
            dataset_nodes.insert(&dataset.path, nodes.len());
            nodes.push(Node {
                label: dataset.path.clone(),
                kind: NodeKind::Dataset,
                href: links::dataset_page(&dataset.slug),
                current: false,
            });
        }
        let mut model_nodes: HashMap<&str, usize> = HashMap::new();
        for model in &self.site.models {
            model_nodes.insert(&model.id, nodes.len());
            nodes.push(Node {
                label: model.id.clone(),
                kind: if model.retired {
                    NodeKind::Retired
                } else {
                    NodeKind::Model
                },
                href: links::model_page(&model.slug),
                current: false,
            });
        }
        let mut edges = Vec::new();
        let mut described = Vec::new();
        for model in self.site.models.iter().filter(|m| !m.retired) {
            let Some(card) = model.current().and_then(|v| v.card.as_ref()) else {
                continue;
            };
            let to = model_nodes[model.id.as_str()];
            let mut inputs = Vec::new();
            for (_, dataset) in &card.datasets {
                if let Some(from) = dataset_nodes.get(dataset.as_str()) {
                    edges.push((*from, to));
                    inputs.push(json!({"name": dataset, "url": links::dataset_page(&self.datasets_by_path[dataset.as_str()].slug), "kind": "dataset"}));
                }
            }
            for up in &card.base_models {
                if let Some(from) = model_nodes.get(up.as_str()) {
                    edges.push((*from, to));
                    inputs.push(json!({"name": up, "url": links::model_page(&self.models_by_id[up.as_str()].slug), "kind": "model"}));
                }
            }
            described.push(
                json!({"id": model.id, "url": links::model_page(&model.slug), "inputs": inputs}),
            );
        }
        let label = format!(
            "Lineage of all {} dataset(s) and {} model(s): arrows point from what a model is built from to the model",
            self.site.datasets.len(),
            self.site.models.len()
        );
        let context = json!({
            "title": "Lineage",
            "nav": "lineage",
            "svg": svg::lineage(&label, &nodes, &edges),
            "models": described,
        });
        self.page(path, "lineage.html", context)
    }

    fn audit_page(&self) -> Result<(), SiteError> {
        let path = links::AUDIT;
        let records: Vec<Value> = (0..self.site.ledger.records.len())
            .rev()
            .filter_map(|i| self.record_context(i, path, None))
            .collect();
        let mut due: Vec<&Model> = self
            .site
            .models
            .iter()
            .filter(|m| !m.retired && m.review.every_days.is_some())
            .collect();
        due.sort_by_key(|m| (!m.review.overdue, m.review.due, m.id.as_str()));
        let reviews: Vec<Value> = due
            .into_iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "url": links::model_page(&m.slug),
                    "tier": m.tier(),
                    "every_days": m.review.every_days,
                    "last": m.review.last.map(links::date),
                    "due": m.review.due.map(links::date),
                    "overdue": m.review.overdue,
                })
            })
            .collect();
        let overdue = reviews.iter().filter(|r| r["overdue"] == true).count();
        let controls = &self.site.ledger.controls;
        let exceptions: Vec<Value> = controls
            .exceptions
            .iter()
            .rev()
            .map(|e| self.exception_context(e, path))
            .collect();
        let context = json!({
            "title": "Audit trail",
            "nav": "audit",
            "exceptions": exceptions,
            "controls": {
                "since": controls.since.as_deref().map(|c| ShortSha(c).to_string()),
                "commits_judged": controls.commits_judged,
            },
            "intact": self.site.ledger.problems.is_empty(),
            "problems": self.site.ledger.problems,
            "records": records,
            "reviews": reviews,
            "overdue": overdue,
            "warnings": self.site.warnings,
        });
        self.page(path, "audit.html", context)
    }
}

fn signed(now: u64, before: u64) -> String {
    if now >= before {
        format!("+{}", now - before)
    } else {
        format!("−{}", before - now)
    }
}

/// A profile's summary number, to four significant digits; a dash when there is none.
fn profile_number(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) => format!("{v:.3e}"),
        Some(v) => format!("{}", (v * 1e4).round() / 1e4),
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

fn direction_words(metric: &str) -> &'static str {
    match direction_from_name(metric) {
        Direction::Higher => "higher is better",
        Direction::Lower => "lower is better",
    }
}

/// Metric changes from the previous version: every metric at either, in the current
/// version's order, each with whether it improved.
fn metric_deltas(
    before: Option<&modelgate_core::metrics_file::Metrics>,
    after: Option<&modelgate_core::metrics_file::Metrics>,
) -> Vec<Value> {
    let mut names: Vec<&String> = after.into_iter().flat_map(|m| m.keys()).collect();
    for name in before.into_iter().flat_map(|m| m.keys()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let old = before.and_then(|m| m.get(name).copied());
            let new = after.and_then(|m| m.get(name).copied());
            let delta = match (old, new) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            let pct = match (old, delta) {
                (Some(a), Some(d)) if a != 0.0 => Some(100.0 * d / a.abs()),
                _ => None,
            };
            let effect = match (delta, direction_from_name(name)) {
                (None, _) if new.is_none() => "removed",
                (None, _) => "added",
                (Some(0.0), _) => "unchanged",
                (Some(d), Direction::Higher) if d > 0.0 => "better",
                (Some(d), Direction::Lower) if d < 0.0 => "better",
                _ => "worse",
            };
            json!({
                "name": name,
                "before": number(old),
                "after": number(new),
                "delta": delta.map(|d| format!("{d:+.4}")),
                "delta_pct": pct.map(|p| format!("{p:+.2}%")),
                "effect": effect,
                "direction": direction_words(name),
            })
        })
        .collect()
}

/// A unified diff of two card texts, line by line, for a `<pre>`.
fn card_diff(before: &str, after: &str) -> Vec<Value> {
    const MAX_LINES: usize = 2_000;
    let diff = similar::TextDiff::from_lines(before, after);
    let mut lines = Vec::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        lines.push(json!({"kind": "hunk", "text": hunk.header().to_string()}));
        for change in hunk.iter_changes() {
            let (kind, sign) = match change.tag() {
                similar::ChangeTag::Delete => ("del", "-"),
                similar::ChangeTag::Insert => ("add", "+"),
                similar::ChangeTag::Equal => ("ctx", " "),
            };
            let text = change.value().trim_end_matches('\n');
            lines.push(json!({"kind": kind, "text": format!("{sign}{text}")}));
            if lines.len() >= MAX_LINES {
                lines.push(json!({"kind": "hunk", "text": "… the rest of the diff is not shown"}));
                return lines;
            }
        }
    }
    lines
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` only occur inside JSON
/// strings, where their `\u` escapes mean the same, so no `</script>` can close it early.
fn script_safe_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_a_script_element_cannot_close_it() {
        let text = serde_json::to_string(&json!({"id": "</script><script>alert(1)</script>"}))
            .expect("json");
        let safe = script_safe_json(&text);
        assert!(!safe.contains("</script"));
        let back: Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back["id"], "</script><script>alert(1)</script>");
    }

    #[test]
    fn deltas_say_which_way() {
        let before = modelgate_core::metrics_file::parse_metrics(
            "m",
            br#"{"auc": 0.8, "log_loss": 0.5, "old": 1}"#,
        )
        .expect("m");
        let after =
            modelgate_core::metrics_file::parse_metrics("m", br#"{"auc": 0.79, "log_loss": 0.4}"#)
                .expect("m");
        let deltas = metric_deltas(Some(&before), Some(&after));
        let effects: Vec<&str> = deltas.iter().filter_map(|d| d["effect"].as_str()).collect();
        assert_eq!(effects, ["worse", "better", "removed"]);
    }

    #[test]
    fn card_diff_marks_lines() {
        let lines = card_diff("a\nb\n", "a\nc\n");
        let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
        assert_eq!(kinds, ["hunk", "ctx", "del", "add"]);
    }
}
