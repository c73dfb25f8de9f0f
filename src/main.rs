//! The `modelgate` command line: parses arguments and calls one function per subcommand.

mod demo;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use modelgate_bot::lfs::{self, LfsServer};
use modelgate_bot::secret::Secret;
use modelgate_core::approvals::PrFacts;
use modelgate_core::drift::{self, StatTest, StatTestChoice};
use modelgate_core::report::Conclusion;
use modelgate_core::{Repo, render};

/// Governance as code for machine-learning models on GitHub.
///
/// Exit codes: 0 pass, 1 a check failed or approvals are missing, 2 bad input or
/// configuration.
#[derive(Debug, Parser)]
#[command(name = "modelgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate the pull request that merges HEAD into BASE: touched models and why,
    /// metric regressions, card completeness, tier and conclusion.
    Check(CheckArgs),
    /// Compare two datasets column by column (CSV, Parquet, NDJSON, or a profile of one
    /// made by `modelgate profile`): exit 0 without dataset drift, 1 with it, 2 on bad input.
    Drift(DriftArgs),
    /// Write a data profile (counts and DataSketches sketches, no rows) of a data file, or
    /// merge profiles of partitions of one dataset; `drift` compares profiles like files.
    Profile(ProfileArgs),
    /// Validate every card, metrics file and the policy at a revision; list every problem.
    Lint(LintArgs),
    /// Run the GitHub App webhook server: evaluate pull requests, post the sticky comment
    /// and check runs, record merges. Settings come from MODELGATE_* variables and/or a
    /// TOML file (see README).
    Serve(ServeArgs),
    /// Run as a GitHub Action step (see action.yml): on a pull request, evaluate it and
    /// post the comment and checks; on a push to the default branch, record the merged
    /// decision or build the site. Reads GITHUB_TOKEN, GITHUB_EVENT_PATH and the other
    /// variables the runner sets; writes the job summary and step outputs.
    Action(ActionArgs),
    /// The audit ledger of merged decisions, kept as git notes under refs/notes/modelgate.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Who approved what was in a stage when: the model's GTO stage tags
    /// (`<model>#<stage>#<n>` assigns, `<model>#<stage>!#<n>` or `<model>#<stage>!`
    /// unassigns), each with the version, its commit, the tag's date and tagger, and the
    /// recorded decision that produced the version. Without --at, the whole timeline.
    History(HistoryArgs),
    /// The governance site: every model at every version, metric history, lineage,
    /// datasets and the audit trail, as static pages rendered from git history.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Build the bundled example repository, evaluate its scripted pull requests and
    /// print their reports.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The repository (working tree or bare).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The base branch (or any revision); its policy governs.
    #[arg(long)]
    base: String,
    /// The head of the change.
    #[arg(long)]
    head: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of standard output (atomically).
    #[arg(long)]
    output: Option<PathBuf>,
    /// The pull request's facts (author, reviews, team members, comments) as JSON in
    /// GitHub's REST shapes; approvals are then judged and the conclusion may be
    /// action_required.
    #[arg(long)]
    pr_facts: Option<PathBuf>,
    /// Download Git LFS objects missing from the local store from this LFS endpoint (for
    /// GitHub: https://github.com/OWNER/REPO.git/info/lfs), as user x-access-token with
    /// GITHUB_TOKEN when it is set. Without it, a missing object is reported as not
    /// evaluated: fetch it first with `git lfs fetch`.
    #[arg(long, value_name = "URL")]
    lfs_url: Option<String>,
    /// Read DATASET at the head from FILE instead of the repository (repeatable): a data
    /// profile an earlier job computed where the data lives. A card must name DATASET.
    #[arg(long = "data", value_name = "DATASET=FILE")]
    data: Vec<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["input", "merge"])))]
struct ProfileArgs {
    /// The data file to profile (CSV, Parquet or NDJSON).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Merge these profiles (of partitions of one dataset, made with the same --k).
    #[arg(long, num_args = 1.., value_name = "PROFILE")]
    merge: Vec<PathBuf>,
    /// Where to write the profile (JSON, atomically).
    #[arg(long)]
    output: PathBuf,
    /// The KLL sketches' k (8 to 65535): larger is more accurate and larger.
    #[arg(long, default_value_t = modelgate_core::profile::DEFAULT_K,
          value_parser = clap::value_parser!(u16).range(8..))]
    k: u16,
}

#[derive(Debug, clap::Args)]
struct DriftArgs {
    /// The reference data (the past): a data file or a profile (`.json`).
    #[arg(long)]
    reference: PathBuf,
    /// The current data: a data file or a profile (`.json`).
    #[arg(long)]
    current: PathBuf,
    /// `auto` (choose per column as Evidently does) or one test for every column.
    #[arg(long, default_value = "auto", value_parser = stattest_parser())]
    stattest: StatTestChoice,
    /// Threshold for every column (default: each test's own); a finite number >= 0.
    #[arg(long, value_parser = setting_parser(drift::check_threshold))]
    threshold: Option<f64>,
    /// Only these columns (comma-separated); a column named here is tested even when it
    /// looks like an identifier.
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Identifier columns (comma-separated), as a card's `governance.id`: not tested.
    #[arg(long = "id", value_delimiter = ',', value_name = "COLUMN")]
    identifiers: Vec<String>,
    /// Share of drifted columns at or above which the dataset has drifted, in (0, 1].
    #[arg(long, default_value_t = 0.5, value_parser = setting_parser(drift::check_drift_share))]
    drift_share: f64,
    /// `calibrated` (default; homogeneity chi-square, no false alarms) or `evidently`
    /// (Evidently's choices, formulas and verdicts exactly).
    #[arg(long, default_value = "calibrated", value_parser = compat_parser())]
    compat: drift::Mode,
    /// Rows read of each file at most (at least 1); a longer file is sampled, reproducibly,
    /// and the report says so.
    #[arg(
        long,
        default_value_t = drift::SampleLimit::DEFAULT_MAX_ROWS,
        value_parser = setting_parser(drift::check_max_rows)
    )]
    max_rows: u64,
    /// The seed of that sample.
    #[arg(long, default_value_t = drift::SampleLimit::DEFAULT_SEED)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `--stattest`: clap lists the names in `--help` and in its refusal of another one.
fn stattest_parser() -> impl TypedValueParser<Value = StatTestChoice> {
    let names = StatTestChoice::names().map(|name| {
        let aliases = StatTest::ALIASES
            .iter()
            .filter(|(_, test)| test.name() == name)
            .map(|(alias, _)| *alias);
        PossibleValue::new(name).aliases(aliases)
    });
    PossibleValuesParser::new(names).try_map(|name| name.parse::<StatTestChoice>())
}

fn compat_parser() -> impl TypedValueParser<Value = drift::Mode> {
    use drift::Mode;
    PossibleValuesParser::new(Mode::ALL.map(Mode::name)).try_map(|name| name.parse::<Mode>())
}

/// A number checked by the same rule as the policy's setting of that name.
fn setting_parser<T: std::str::FromStr + Clone + Send + Sync + 'static>(
    check: fn(T) -> Result<T, drift::DriftSettingError>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T::Err: std::fmt::Display,
{
    move |text: &str| {
        let value = text.parse::<T>().map_err(|error| error.to_string())?;
        check(value).map_err(|error| error.to_string())
    }
}

#[derive(Debug, clap::Args)]
struct HistoryArgs {
    /// The repository (working tree or bare).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The model (its folder name under models/).
    #[arg(long)]
    model: String,
    /// Only this stage (e.g. prod).
    #[arg(long)]
    stage: Option<String>,
    /// What held each stage at this time: a date (YYYY-MM-DD, to the end of that day in
    /// UTC) or an RFC 3339 time (2026-01-31T12:00:00Z).
    #[arg(long, value_parser = at_parser)]
    at: Option<(String, i64)>,
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    format: LintFormat,
}

fn at_parser(text: &str) -> Result<(String, i64), String> {
    modelgate_core::stages::parse_at(text).map(|seconds| (text.to_owned(), seconds))
}

#[derive(Debug, clap::Args)]
struct LintArgs {
    /// The repository (working tree or bare).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The revision to lint.
    #[arg(long, default_value = "HEAD")]
    rev: String,
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    format: LintFormat,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// A TOML file with the same settings as the MODELGATE_* variables, in lower case
    /// without the prefix; variables that are set win.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ActionArgs {
    #[arg(long, value_enum)]
    mode: modelgate_bot::action::Mode,
    /// Where `site` mode writes the site, relative to GITHUB_WORKSPACE [default: _site].
    #[arg(long)]
    site_dir: Option<PathBuf>,
    /// `fail`: exit 1 when the evaluation fails; `never`: report only [default: fail].
    #[arg(long, value_enum)]
    fail_on: Option<modelgate_bot::action::FailOn>,
    /// A TOML file with defaults for the flags (`fail_on`, `site_dir`) and `path`, the
    /// repository's folder within GITHUB_WORKSPACE.
    #[arg(long)]
    config: Option<PathBuf>,
    /// check mode: read DATASET at the pull request's head from FILE (relative to
    /// GITHUB_WORKSPACE; repeatable), a profile an earlier job computed.
    #[arg(long = "data", value_name = "DATASET=FILE")]
    data: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Write the decision record for a merge commit, chained to the previous record.
    Record {
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The merge commit.
        #[arg(long)]
        commit: String,
        /// The report of the merged pull request (`check --format json`).
        #[arg(long)]
        report: PathBuf,
        /// The pull request's facts, for its number.
        #[arg(long)]
        pr_facts: Option<PathBuf>,
    },
    /// Walk the chain and report every record altered, removed or reordered, and every
    /// control exception of the branch since the ledger's first record: a change to a
    /// model with no record (unrecorded), merged despite a failing decision (failed) or
    /// without its approvals (unapproved). Exit 1 when there is either.
    Verify {
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The branch (or any revision) whose first-parent history is judged [default:
        /// origin/HEAD when the clone has it, else HEAD].
        #[arg(long)]
        rev: Option<String>,
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
    },
    /// Print the ledger's history, oldest first.
    Log {
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Only records touching this model.
        #[arg(long)]
        model: Option<String>,
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
    },
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Write the site into a folder (new, empty, or an earlier build, which is replaced).
    Build {
        /// The repository (working tree or bare).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The folder to write.
        #[arg(long)]
        out: PathBuf,
        /// The branch (or any revision) whose first-parent history is shown.
        #[arg(long, default_value = "HEAD")]
        rev: String,
        /// Where the site will be published (for canonical links and absolute URLs in
        /// models.json); links between pages stay relative.
        #[arg(long)]
        base_url: Option<String>,
        /// A folder of templates overriding the built-in ones file by file.
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Preview the site on 127.0.0.1, rebuilt whenever the repository's refs change.
    Serve {
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        #[arg(long, default_value = "HEAD")]
        rev: String,
        /// The port (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[arg(long)]
        templates: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Where to create the example repository (must not exist or be empty).
    /// Default: a new folder under the system's temporary directory.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Lint(args) => lint(args),
        Command::Drift(args) => drift(args),
        Command::Profile(args) => profile(args),
        Command::Audit(command) => audit(command),
        Command::Serve(args) => serve(args),
        Command::Action(args) => action(args),
        Command::Site(command) => site(command),
        Command::History(args) => history(args),
        Command::Demo(args) => demo::run(args.out, args.format),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One paragraph: the error and its causes, no backtrace.
            let mut message = error.to_string();
            for cause in error.chain().skip(1) {
                message.push_str(&format!(": {cause}"));
            }
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MODELGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn open(path: &std::path::Path) -> anyhow::Result<Repo> {
    Ok(Repo::open(path)?)
}

fn render_report(report: &modelgate_core::Report, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => render::text(report),
        Format::Markdown => render::markdown(report),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
    })
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut repo = open(&args.repo)?;
    // The LFS client runs on a runtime of its own, kept until the evaluation ends; the
    // evaluation stays on this thread.
    let mut _lfs_runtime = None;
    if let Some(url) = &args.lfs_url {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let token = std::env::var("GITHUB_TOKEN").ok().map(Secret::new);
        let server = {
            let _entered = runtime.enter();
            LfsServer::new(url, token, lfs::max_object_bytes_from_env())?
        };
        repo = repo.with_lfs_server(std::sync::Arc::new(server));
        _lfs_runtime = Some(runtime);
    }
    let here = std::env::current_dir()?;
    for spec in &args.data {
        let artifact = modelgate_core::content::DataArtifact::read(spec, &here)
            .map_err(|message| anyhow::anyhow!("--data {message}"))?;
        repo = repo.with_artifact(&args.head, artifact)?;
    }
    let facts = args.pr_facts.as_deref().map(read_facts).transpose()?;
    let report =
        modelgate_core::evaluate(&repo, &args.base, &args.head)?.conclude(facts.as_ref())?;
    let rendered = render_report(&report, args.format)?;
    match &args.output {
        Some(path) => output::write_atomically(path, rendered.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(exit_code(report.conclusion))
}

fn read_facts(path: &std::path::Path) -> anyhow::Result<PrFacts> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(PrFacts::from_json(&path.display().to_string(), &text)?)
}

fn exit_code(conclusion: Conclusion) -> ExitCode {
    match conclusion {
        Conclusion::Pass => ExitCode::SUCCESS,
        Conclusion::Fail | Conclusion::ActionRequired => ExitCode::from(1),
    }
}

fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let repo = open(&args.repo)?;
    let report = modelgate_core::lint(&repo, &args.rev)?;
    match args.format {
        LintFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        LintFormat::Text => print!("{}", report.text()),
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn site(command: SiteCommand) -> anyhow::Result<ExitCode> {
    match command {
        SiteCommand::Build {
            repo,
            out,
            rev,
            base_url,
            templates,
        } => {
            let summary = modelgate_site::build(&modelgate_site::BuildOptions {
                repo,
                out: out.clone(),
                rev,
                base_url,
                templates,
            })?;
            print!("{}", summary.text(&out));
        }
        SiteCommand::Serve {
            repo,
            rev,
            port,
            templates,
        } => modelgate_site::serve(&modelgate_site::ServeOptions {
            repo,
            rev,
            port,
            templates,
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    use modelgate_core::audit;
    match command {
        AuditCommand::Record {
            repo,
            commit,
            report,
            pr_facts,
        } => {
            let repo = open(&repo)?;
            let bytes =
                std::fs::read(&report).with_context(|| format!("reading {}", report.display()))?;
            let facts = pr_facts.as_deref().map(read_facts).transpose()?;
            let request = audit::RecordRequest {
                commit: &commit,
                report: &bytes,
                report_file: &report.display().to_string(),
                facts: facts.as_ref(),
            };
            let record = audit::record(&repo, &request)?;
            println!(
                "recorded #{} on {} ({})",
                record.sequence, record.commit, record.conclusion
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { repo, rev, format } => {
            let repo = open(&repo)?;
            let rev = rev.unwrap_or_else(|| audit::default_branch(&repo));
            let audit = audit::audit(&repo, &rev)?;
            match format {
                LintFormat::Json => println!("{}", serde_json::to_string_pretty(&audit)?),
                LintFormat::Text => print!("{}", audit.text()),
            }
            Ok(if audit.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        AuditCommand::Log {
            repo,
            model,
            format,
        } => {
            let verification = audit::log(&open(&repo)?, model.as_deref())?;
            match format {
                LintFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&verification.records)?)
                }
                LintFormat::Text => print!("{}", verification.log_text()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    use modelgate_core::stages::{Holding, stage_history};
    let history = stage_history(&open(&args.repo)?, &args.model)?;
    if let Some(stage) = &args.stage
        && !history.stages.contains_key(stage)
    {
        let known: Vec<&str> = history.stages.keys().map(String::as_str).collect();
        anyhow::bail!(
            "model {} has no tag for stage `{stage}`; its stages: {}",
            args.model,
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    }
    let Some((at_text, at)) = &args.at else {
        match args.format {
            LintFormat::Json => {
                let stages: Vec<_> = history
                    .stages
                    .iter()
                    .filter(|(s, _)| args.stage.as_ref().is_none_or(|o| o == *s))
                    .map(|(stage, events)| serde_json::json!({"stage": stage, "events": events}))
                    .collect();
                let value = serde_json::json!({"model": history.model, "stages": stages});
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
            LintFormat::Text => print!("{}", history.timeline_text(args.stage.as_deref())),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let holdings: Vec<Holding<'_>> = history
        .stages
        .keys()
        .filter(|s| args.stage.as_ref().is_none_or(|o| o == *s))
        .map(|stage| Holding {
            stage,
            held_by: history.held_at(stage, *at),
        })
        .collect();
    match args.format {
        LintFormat::Json => {
            let value = serde_json::json!({
                "model": history.model,
                "at": modelgate_core::stages::rfc3339(*at),
                "stages": holdings,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        LintFormat::Text => print!("{}", history.at_text(&holdings, at_text)),
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config =
        modelgate_bot::Config::load(args.config.as_deref(), &|name| std::env::var(name).ok())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let bot = modelgate_bot::Bot::new(config, modelgate_bot::github::RetryPolicy::from_env()?)
            .await?;
        modelgate_bot::serve(bot, shutdown_signal()).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn action(args: ActionArgs) -> anyhow::Result<ExitCode> {
    use modelgate_bot::action::{self, Environment, Settings};
    let settings = Settings {
        mode: args.mode,
        site_dir: args.site_dir,
        fail_on: args.fail_on,
        config: args.config,
        data: args.data,
    };
    let env = Environment::from_vars(&|name| std::env::var(name).ok())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(action::run(
        settings,
        &env,
        modelgate_bot::github::RetryPolicy::from_env()?,
        &build_checked_out_site,
    ))?;
    Ok(if outcome.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The Action's site mode: `modelgate site build` of the checked-out branch.
fn build_checked_out_site(repo: &std::path::Path, out: &std::path::Path) -> Result<(), String> {
    let options = modelgate_site::BuildOptions {
        repo: repo.to_owned(),
        out: out.to_owned(),
        rev: "HEAD".to_owned(),
        base_url: None,
        templates: None,
    };
    modelgate_site::build(&options)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM: stop accepting deliveries and let running jobs finish.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// A `.json` file given to `drift` is a profile (no data format of `drift` ends so).
fn is_profile(path: &std::path::Path) -> bool {
    modelgate_core::profile::is_profile_path(&path.to_string_lossy())
}

fn read_profile(path: &std::path::Path) -> anyhow::Result<modelgate_core::profile::Profile> {
    let bytes =
        std::fs::read(path).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    Ok(modelgate_core::profile::Profile::from_json(
        &path.display().to_string(),
        &bytes,
    )?)
}

/// Profiles a data file, with a progress bar on a terminal.
fn profile_file(
    path: &std::path::Path,
    k: u16,
) -> anyhow::Result<modelgate_core::profile::Profile> {
    let table = modelgate_core::table::Table::from_path(path)?;
    let (progress, _bar) = progress::Bar::start("profiling");
    Ok(modelgate_core::profile::Profile::of_table(
        &table, k, progress,
    )?)
}

fn profile(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let profile = match &args.input {
        Some(input) => profile_file(input, args.k)?,
        None => {
            let parts = args
                .merge
                .iter()
                .map(|path| Ok((path.display().to_string(), read_profile(path)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            modelgate_core::profile::Profile::merge(&parts)?
        }
    };
    output::write_atomically(&args.output, profile.to_json().as_bytes())
        .map_err(|error| anyhow::anyhow!("{}: {error}", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Drift with a profile on at least one side: a data file on the other is profiled with the
/// profile's k first.
fn drift_of_profiles(
    args: &DriftArgs,
    options: &modelgate_core::drift::DriftOptions,
) -> anyhow::Result<ExitCode> {
    use modelgate_core::profile::{DEFAULT_K, compare_profiles};
    let read = |path: &PathBuf| is_profile(path).then(|| read_profile(path)).transpose();
    let (reference, current) = (read(&args.reference)?, read(&args.current)?);
    let k = reference
        .as_ref()
        .or(current.as_ref())
        .map_or(DEFAULT_K, |profile| profile.kll_k);
    let side = |given: Option<modelgate_core::profile::Profile>, path: &PathBuf| match given {
        Some(profile) => Ok(profile),
        None => profile_file(path, k),
    };
    let (mut reference, mut current) = (
        side(reference, &args.reference)?,
        side(current, &args.current)?,
    );
    if let Some(wanted) = &args.columns {
        for profile in [&mut reference, &mut current] {
            profile
                .columns
                .retain(|column| wanted.contains(&column.name));
        }
    }
    let drift = compare_profiles(&reference, &current, options)?;
    print_drift(
        &drift,
        args.format,
        &args.reference.display().to_string(),
        &args.current.display().to_string(),
    )
}

/// Prints a drift report in `format`; exit 1 on dataset drift.
fn print_drift(
    drift: &modelgate_core::drift::DatasetDrift,
    format: Format,
    reference: &str,
    current: &str,
) -> anyhow::Result<ExitCode> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(drift)?),
        Format::Text => print!("{}", render::drift_text(drift, reference, current)),
        Format::Markdown => print!(
            "{}",
            render::drift_markdown(drift, &format!("{reference} → {current}"))
        ),
    }
    Ok(if drift.dataset_drift {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn drift(args: DriftArgs) -> anyhow::Result<ExitCode> {
    use modelgate_core::policy::DriftPolicy;
    use modelgate_core::table::{Table, compare_tables};
    // Every value was checked by its clap parser.
    let policy = DriftPolicy {
        stattest: args.stattest,
        drift_share: args.drift_share,
        threshold: args.threshold,
        compat: Some(args.compat),
        max_rows: Some(args.max_rows),
        seed: Some(args.seed),
        ..DriftPolicy::default()
    };
    let mut options = policy.options();
    options.identifiers = args.identifiers.clone();
    // Named on the command line is named by the policy: tested, identifier or not.
    for column in args.columns.iter().flatten() {
        options.columns.entry(column.clone()).or_default();
    }
    if is_profile(&args.reference) || is_profile(&args.current) {
        return drift_of_profiles(&args, &options);
    }
    let reference = Table::from_path(&args.reference)?;
    let current = Table::from_path(&args.current)?;
    let drift = {
        let (progress, _bar) = progress::Bar::start("reading");
        compare_tables(
            &reference,
            &current,
            args.columns.as_deref(),
            &options,
            progress,
        )?
    };
    print_drift(&drift, args.format, &reference.name, &current.name)
}
