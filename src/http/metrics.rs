//! Prometheus metrics: `hydra_response_time_seconds` (Hydra's histogram, labelled by route
//! with path parameters as `{param}`, plus method, status and listener) and the process
//! collector, in a registry per server so that several servers can live in one process.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::Instant;

/// The metrics of one server (both listeners).
pub struct Metrics {
    registry: Registry,
    response_time: HistogramVec,
    backchannel_logout_failures: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let response_time = HistogramVec::new(
            HistogramOpts::new(
                "hydra_response_time_seconds",
                "Time spent serving HTTP requests, by route and status.",
            )
            .const_label("version", env!("CARGO_PKG_VERSION")),
            &["endpoint", "method", "status", "listener"],
        )?;
        registry.register(Box::new(response_time.clone()))?;
        let backchannel_logout_failures = IntCounterVec::new(
            Opts::new(
                "portcullis_backchannel_logout_failures_total",
                "Back-channel logout calls that did not get a 2xx answer in time, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(backchannel_logout_failures.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry,
            response_time,
            backchannel_logout_failures,
        })
    }

    /// Counts one failed back-channel logout call (`status`, `timeout` or `network`).
    pub fn backchannel_logout_failed(&self, reason: &str) {
        self.backchannel_logout_failures
            .with_label_values(&[reason])
            .inc();
    }

    /// The registry in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail short of a broken metric family; render what we have.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn observe(&self, endpoint: &str, method: &str, status: u16, listener: &str, seconds: f64) {
        self.response_time
            .with_label_values(&[endpoint, method, &status.to_string(), listener])
            .observe(seconds);
    }
}

/// `/clients/{id}` → `/clients/{param}`, as Hydra labels routes.
fn endpoint_label(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{param}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Which listener a router serves, for the `listener` label.
#[derive(Clone, Copy)]
pub struct Listener(pub &'static str);

/// Middleware: records the duration and outcome of every request.
pub async fn track(
    State((metrics, listener)): State<(Arc<Metrics>, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| endpoint_label(p.as_str()))
        .unwrap_or_else(|| "{unmatched}".to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        &endpoint,
        &method,
        response.status().as_u16(),
        listener.0,
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics/prometheus` (admin).
pub async fn prometheus(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_become_param() {
        assert_eq!(endpoint_label("/clients/{id}"), "/clients/{param}");
        assert_eq!(endpoint_label("/keys/{set}/{kid}"), "/keys/{param}/{param}");
        assert_eq!(endpoint_label("/health/ready"), "/health/ready");
    }
}
