//! The `/metrics` endpoint: deliveries, jobs, evaluation time and GitHub API calls, in the
//! Prometheus (OpenMetrics) text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    event: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

pub struct Metrics {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    api_calls: Family<StatusLabels, Counter>,
    pub jobs_queued: Gauge,
    pub jobs_running: Gauge,
    pub oldest_queued_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub lease_expiries: Counter,
    pub job_retries: Counter,
    evaluation_seconds: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("modelgate");
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by event and outcome",
            deliveries.clone(),
        );
        let api_calls = Family::<StatusLabels, Counter>::default();
        registry.register(
            "github_api_calls",
            "GitHub API calls by response status",
            api_calls.clone(),
        );
        let jobs_queued = Gauge::default();
        registry.register(
            "jobs_queued",
            "Jobs waiting for a worker, in the shared queue (all replicas)",
            jobs_queued.clone(),
        );
        let jobs_running = Gauge::default();
        registry.register(
            "jobs_running",
            "Jobs this replica is running",
            jobs_running.clone(),
        );
        let oldest_queued_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "oldest_queued_job_age_seconds",
            "Seconds the oldest waiting job has waited (all replicas)",
            oldest_queued_seconds.clone(),
        );
        let lease_expiries = Counter::default();
        registry.register(
            "lease_expiries",
            "Jobs this replica took over from a worker whose lease expired",
            lease_expiries.clone(),
        );
        let job_retries = Counter::default();
        registry.register(
            "job_retries",
            "Failed job attempts this replica queued again with backoff",
            job_retries.clone(),
        );
        let buckets = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        let evaluation_seconds = Histogram::new(buckets);
        registry.register(
            "evaluation_seconds",
            "Time to evaluate a pull request and post the results",
            evaluation_seconds.clone(),
        );
        Metrics {
            registry,
            deliveries,
            api_calls,
            jobs_queued,
            jobs_running,
            oldest_queued_seconds,
            lease_expiries,
            job_retries,
            evaluation_seconds,
        }
    }
}

impl Metrics {
    pub fn delivery(&self, event: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn api_call(&self, status: u16) {
        self.api_calls
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
    }

    pub fn evaluation(&self, seconds: f64) {
        self.evaluation_seconds.observe(seconds);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
