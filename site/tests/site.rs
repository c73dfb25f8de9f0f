//! The governance site built from real repositories: the example with a governed history,
//! and small repositories with hostile cards.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use modelgate_core::scenario::{FileChange, RepoWriter};
use support::{attribute_values, build, example_with_history, files, tags};

#[test]
fn every_internal_link_and_anchor_resolves() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    example_with_history(&repo);
    let out = dir.path().join("site");
    build(&repo, &out, None);
    let site = files(&out);
    let mut checked = 0;
    for (page, bytes) in site.iter().filter(|(p, _)| p.ends_with(".html")) {
        let html = String::from_utf8(bytes.clone()).expect("utf-8 page");
        let folder = Path::new(page).parent().unwrap_or(Path::new(""));
        for link in attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"))
        {
            if link.starts_with("https://")
                || link.starts_with("http://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalize(&folder.join(path))
            };
            let Some(target_bytes) = site.get(&target) else {
                panic!("{page}: link `{link}` points to {target}, which was not written");
            };
            if !fragment.is_empty() {
                let target_html = String::from_utf8_lossy(target_bytes);
                assert!(
                    target_html.contains(&format!("id=\"{fragment}\"")),
                    "{page}: anchor `{link}` has no element with id {fragment} in {target}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} links checked");
}

/// `a/b/../c` → `a/c`, as a browser resolves a relative link.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                assert!(
                    parts.pop().is_some(),
                    "link leaves the site: {}",
                    path.display()
                );
            }
            std::path::Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[test]
fn a_page_for_every_model_version_with_exports() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    let tips = example_with_history(&repo);
    let out = dir.path().join("site");
    let summary = build(&repo, &out, None);

    let opened = modelgate_core::Repo::open(&repo).expect("open");
    let history = modelgate_core::history::walk(
        &opened,
        opened.resolve("main").expect("main"),
        &mut Default::default(),
    )
    .expect("walk");
    let mut expected = 0;
    for (model, versions) in &history.models {
        assert!(
            out.join(format!("models/{model}/index.html")).is_file(),
            "{model} page"
        );
        for version in versions {
            let key: String = history.commits[version.commit]
                .id
                .to_string()
                .chars()
                .take(12)
                .collect();
            let folder = out.join(format!("models/{model}/{key}"));
            assert!(folder.join("index.html").is_file(), "{model} {key} page");
            let card: serde_json::Value = serde_json::from_slice(
                &std::fs::read(folder.join("card.json")).expect("card.json"),
            )
            .expect("json");
            for field in [
                "model_details",
                "model_parameters",
                "quantitative_analysis",
                "considerations",
            ] {
                assert!(
                    card.get(field).is_some(),
                    "{model} {key} card.json lacks {field}"
                );
            }
            let readme = std::fs::read_to_string(folder.join("README.md")).expect("README.md");
            assert!(readme.starts_with("---\n"), "Hub README has front matter");
            expected += 1;
        }
    }
    assert_eq!(summary.versions, expected);
    assert_eq!(
        history.models["credit-risk"].len(),
        2,
        "baseline and the merged retrain"
    );
    assert_eq!(history.models["support-router"].len(), 2);
    assert_eq!(history.models["ticket-encoder"].len(), 1);

    let credit = std::fs::read_to_string(out.join("models/credit-risk/index.html")).expect("page");
    assert!(
        credit.contains("2.2.0"),
        "the card's version labels the merged retrain"
    );
    assert!(
        credit.contains("credit-risk@v2.2.0"),
        "the release tag is shown"
    );
    assert!(
        credit.contains("Risk accepted"),
        "the ledger's risk acceptance is shown"
    );
    assert!(
        credit.contains("<svg class=\"chart\""),
        "metric history chart"
    );
    let merge: String = tips["merge-retrain-credit-risk"]
        .to_string()
        .chars()
        .take(12)
        .collect();
    let version =
        std::fs::read_to_string(out.join(format!("models/credit-risk/{merge}/index.html")))
            .expect("version");
    assert!(
        version.contains("effect-worse"),
        "AUC dropped in the retrain: {version}"
    );
    assert!(version.contains("diff-add"), "the card diff is shown");

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("models.json")).expect("models.json"))
            .expect("json");
    let ids: Vec<&str> = index["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["credit-risk", "support-router", "ticket-encoder"]);
    let audit = std::fs::read_to_string(out.join("audit.html")).expect("audit");
    assert!(
        audit.contains("is <strong>intact</strong>"),
        "ledger verified"
    );
    assert!(audit.contains("Record #2"), "newest record shown");
}

#[test]
fn rebuilding_gives_byte_identical_output() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    example_with_history(&repo);
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    build(&repo, &first, None);
    build(&repo, &second, None);
    let (a, b) = (files(&first), files(&second));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{path} differs between two builds");
    }
    // Rebuilding over an earlier build replaces it with the same bytes.
    build(&repo, &first, None);
    assert_eq!(files(&first), b);
}

const HOSTILE_BODY: &str = r#"# Model <script>alert('body')</script>

<img src=x onerror="alert('img')">

[click](javascript:alert('link')) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

<a href="JaVaScRiPt:alert('mixed')">mixed case</a>

<svg onload="alert('svg')"><script>alert('svg script')</script></svg>

<iframe src="https://evil.example"></iframe>

<p style="background:url(javascript:alert(1))" onclick="alert('click')">styled</p>

![x](javascript:alert('image'))

## Intended use

Testing.
"#;

#[test]
fn injected_scripts_do_not_survive() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    let mut writer = RepoWriter::init(&repo, false).expect("init");
    let front_matter = "---\nversion: \"<script>alert('version')</script>\"\nowners: [\"<img src=x onerror=alert('owner')>\"]\nlicense: other\nlicense_name: \"javascript:alert('license')\"\nlicense_link: \"javascript:alert('license link')\"\ntags: [\"</script><script>alert('tag')</script>\"]\nbase_model: \"javascript:alert('base')\"\ndatasets: {train: \"data/<svg onload=alert(1)>.csv\"}\ngovernance:\n  risk_tier: \"<b onmouseover=alert('tier')>high</b>\"\n---\n";
    let card = format!("{front_matter}{HOSTILE_BODY}");
    writer
        .commit(
            "main",
            None,
            "hostile card <script>alert('commit')</script>",
            &[
                FileChange::write("models/victim/card.md", &card),
                FileChange::write(
                    "models/victim/metrics.json",
                    r#"{"<script>alert('metric')</script>": 0.5}"#,
                ),
                FileChange::write("models/x\"onmouseover=alert(1)/card.md", &card),
            ],
        )
        .expect("commit");
    writer
        .commit(
            "main",
            None,
            "again",
            &[FileChange::write(
                "models/victim/card.md",
                format!("{card}\n<script>alert('diff')</script>\n"),
            )],
        )
        .expect("commit");
    let out = dir.path().join("site");
    build(&repo, &out, None);

    let mut pages = 0;
    for (page, bytes) in files(&out).iter().filter(|(p, _)| p.ends_with(".html")) {
        pages += 1;
        let html = String::from_utf8_lossy(bytes);
        let scripts = tags(&html)
            .into_iter()
            .filter(|t| t.starts_with("<script"))
            .count();
        let allowed = if page == "index.html" { 2 } else { 0 };
        assert_eq!(
            scripts, allowed,
            "{page}: only the index's own data and search script may be scripts"
        );
        for tag in tags(&html) {
            for bad in [" on", "<iframe", "<img", "style=", "<object", "<embed"] {
                assert!(
                    !tag.contains(bad),
                    "{page}: `{bad}` survived in the tag {tag}"
                );
            }
            assert!(
                !tag.starts_with("<svg") || tag.starts_with("<svg class="),
                "{page}: a card's SVG survived: {tag}"
            );
        }
        for url in attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"))
        {
            let url = url.trim().to_ascii_lowercase();
            assert!(
                !url.starts_with("javascript:") && !url.starts_with("data:"),
                "{page}: dangerous URL {url}"
            );
        }
    }
    assert!(pages >= 5, "pages were written: {pages}");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    let data_start = index.find("id=\"models-data\">").expect("embedded data");
    let data_end = index[data_start..].find("</script>").expect("closed") + data_start;
    assert!(
        !index[data_start..data_end].contains('<'),
        "the embedded JSON cannot close its script element"
    );
}

#[test]
fn template_overrides_take_effect_file_by_file() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    let mut writer = RepoWriter::init(&repo, true).expect("init");
    writer
        .commit(
            "main",
            None,
            "one model",
            &[FileChange::write(
                "models/m/card.md",
                "---\nversion: 1.0.0\n---\n# m\n",
            )],
        )
        .expect("commit");
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("assets")).expect("dir");
    std::fs::write(
        templates.join("lineage.html"),
        "{% extends \"base.html\" %}{% block content %}<h1>Our lineage</h1>{% include \"extra.html\" %}{% endblock content %}",
    )
    .expect("write");
    std::fs::write(
        templates.join("extra.html"),
        "<p>{{ site_title }} partial</p>",
    )
    .expect("write");
    std::fs::write(templates.join("assets/style.css"), "/* house style */\n").expect("write");
    let out = dir.path().join("site");
    build(&repo, &out, Some(&templates));
    let lineage = std::fs::read_to_string(out.join("lineage.html")).expect("lineage");
    assert!(lineage.contains("<h1>Our lineage</h1>"), "{lineage}");
    assert!(
        lineage.contains("Model governance partial"),
        "extra templates are usable"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("assets/style.css")).expect("css"),
        "/* house style */\n"
    );
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(
        index.contains("<h1>Models</h1>"),
        "other templates stay built in"
    );
}

#[test]
fn a_removed_model_is_retired_with_its_history() {
    let dir = tempfile::tempdir().expect("temp");
    let repo = dir.path().join("repo");
    let mut writer = RepoWriter::init(&repo, true).expect("init");
    writer
        .commit(
            "main",
            None,
            "add",
            &[
                FileChange::write("models/old/card.md", "---\nversion: 1.0.0\n---\n# old\n"),
                FileChange::write(
                    "models/new/card.md",
                    "---\nversion: 1.0.0\nbase_model: old\n---\n# new\n",
                ),
            ],
        )
        .expect("commit");
    writer
        .commit(
            "main",
            None,
            "retire old",
            &[FileChange::delete("models/old/card.md")],
        )
        .expect("commit");
    let out = dir.path().join("site");
    let summary = build(&repo, &out, None);
    assert_eq!(summary.models, 2);
    let old = std::fs::read_to_string(out.join("models/old/index.html"))
        .expect("retired model page kept");
    assert!(old.contains("Retired"), "{old}");
    let statuses: BTreeSet<String> = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(out.join("models.json")).expect("json"),
    )
    .expect("json")["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["status"].as_str().map(str::to_owned))
        .collect();
    assert!(statuses.contains("retired"));
}
