//! Benchmark (not a test): complete authorization code flows per second against a running
//! server. Each of `--concurrency` workers loops, as a new browser each time plus a login and
//! consent app answering at once:
//!
//!   1. GET  /oauth2/auth?response_type=code&...              → 302 to the login app
//!   2. PUT  /oauth2/auth/requests/login/accept (admin)       → redirect_to
//!   3. GET  redirect_to (/oauth2/auth + login_verifier)      → 302 to the consent app
//!   4. PUT  /oauth2/auth/requests/consent/accept (admin)     → redirect_to
//!   5. GET  redirect_to (/oauth2/auth + consent_verifier)    → 302 to the client with a code
//!   6. POST /oauth2/token (authorization_code, client_secret_basic) → 200 with tokens
//!
//! Cookies are kept per flow (a fresh browser: no remembered login). Flows finished during the
//! warm-up are not counted; every load is bounded by `--duration`; only loopback URLs are
//! accepted. Prints flows/s, per-flow latency percentiles, the mean of each step, errors, and
//! a last line `FLOWRESULT <flows/s> <p50 ms> <p99 ms> <errors> <flows>` for scripts.
//!
//!     cargo run --release --example flow_bench -- --client-id bench --client-secret ... \
//!         --redirect-uri http://127.0.0.1:9/cb --concurrency 32 --duration 10s

use clap::Parser;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// The public listener.
    #[arg(long, default_value = "http://127.0.0.1:4444")]
    public: String,
    /// The admin listener.
    #[arg(long, default_value = "http://127.0.0.1:4445")]
    admin: String,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    /// A registered redirect URI of the client (never fetched).
    #[arg(long)]
    redirect_uri: String,
    /// Space-separated scopes to request and grant (`openid` adds an RS256 ID token).
    #[arg(long, default_value = "openid")]
    scope: String,
    /// Concurrent workers (flows in flight).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured time, in seconds (e.g. 10 or 10s).
    #[arg(long, default_value = "10s", value_parser = seconds)]
    duration: Duration,
    /// Warm-up before measuring, in seconds.
    #[arg(long, default_value = "2s", value_parser = seconds)]
    warmup: Duration,
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.trim_end_matches('s')
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{text:?}: expected whole seconds, like 10s"))
}

const STEPS: [&str; 6] = [
    "GET /oauth2/auth",
    "PUT login accept",
    "GET /oauth2/auth + login_verifier",
    "PUT consent accept",
    "GET /oauth2/auth + consent_verifier",
    "POST /oauth2/token",
];

/// What one worker measured.
#[derive(Default)]
struct Tally {
    /// Per-flow latencies in microseconds.
    flows: Vec<u32>,
    /// Total microseconds per step, over measured flows.
    steps: [u64; 6],
    errors: BTreeMap<String, u64>,
}

/// One flow's browser: cookies set on this flow only.
struct Browser<'a> {
    http: &'a Client,
    cookies: BTreeMap<String, String>,
}

impl Browser<'_> {
    /// GET `url` with the flow's cookies; the redirect's `Location` (resolved against `url`).
    async fn get(&mut self, url: &str) -> Result<Url, String> {
        let mut request = self.http.get(url);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(COOKIE, header.join("; "));
        }
        let response = request.send().await.map_err(|e| format!("GET: {e}"))?;
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.contains("Max-Age=0");
                if expired || value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_string(), value.to_string());
                }
            }
        }
        let status = response.status();
        if status != StatusCode::FOUND && status != StatusCode::SEE_OTHER {
            let body = response.text().await.unwrap_or_default();
            return Err(format!("GET answered {status}: {}", first(&body)));
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or("redirect without Location")?;
        Url::parse(url)
            .and_then(|base| base.join(location))
            .map_err(|e| format!("bad Location {location}: {e}"))
    }
}

fn first(text: &str) -> String {
    text.chars()
        .take(160)
        .collect::<String>()
        .replace('\n', " ")
}

fn param(url: &Url, name: &str) -> Result<String, String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no {name} in {}", first(url.as_str())))
}

async fn accept(
    http: &Client,
    args: &Args,
    kind: &str,
    challenge: &str,
    body: &Value,
) -> Result<String, String> {
    let url = format!(
        "{}/oauth2/auth/requests/{kind}/accept?{kind}_challenge={}",
        args.admin,
        url::form_urlencoded::byte_serialize(challenge.as_bytes()).collect::<String>()
    );
    let response = http
        .put(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("PUT {kind} accept: {e}"))?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if status != StatusCode::OK {
        return Err(format!("PUT {kind} accept answered {status}: {value}"));
    }
    value["redirect_to"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{kind} accept without redirect_to: {value}"))
}

/// One complete flow; the time each step took (µs).
async fn flow(http: &Client, args: &Args, n: u64) -> Result<[u64; 6], String> {
    let mut took = [0u64; 6];
    let mut clock = Instant::now();
    let mut lap = |i: usize, took: &mut [u64; 6]| {
        took[i] = clock.elapsed().as_micros() as u64;
        clock = Instant::now();
    };
    let mut browser = Browser {
        http,
        cookies: BTreeMap::new(),
    };
    let mut auth =
        Url::parse(&format!("{}/oauth2/auth", args.public)).map_err(|e| e.to_string())?;
    auth.query_pairs_mut()
        .append_pair("client_id", &args.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &args.redirect_uri)
        .append_pair("scope", &args.scope)
        .append_pair("state", &format!("state-{n:016}"))
        .append_pair("nonce", &format!("nonce-{n:016}"));
    let login = browser.get(auth.as_str()).await?;
    lap(0, &mut took);
    let body = json!({"subject": format!("user-{n}")});
    let next = accept(
        http,
        args,
        "login",
        &param(&login, "login_challenge")?,
        &body,
    )
    .await?;
    lap(1, &mut took);
    let consent = browser.get(&next).await?;
    lap(2, &mut took);
    let scopes: Vec<&str> = args.scope.split_whitespace().collect();
    let body = json!({"grant_scope": scopes});
    let next = accept(
        http,
        args,
        "consent",
        &param(&consent, "consent_challenge")?,
        &body,
    )
    .await?;
    lap(3, &mut took);
    let done = browser.get(&next).await?;
    lap(4, &mut took);
    let code = param(&done, "code")?;
    let response = http
        .post(format!("{}/oauth2/token", args.public))
        .basic_auth(&args.client_id, Some(&args.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", args.redirect_uri.as_str()),
        ])
        .send()
        .await
        .map_err(|e| format!("POST token: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != StatusCode::OK || !body["access_token"].is_string() {
        return Err(format!("POST token answered {status}: {body}"));
    }
    lap(5, &mut took);
    Ok(took)
}

async fn worker(args: Arc<Args>, counter: Arc<AtomicU64>, start: Instant) -> Tally {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()
        .unwrap_or_default();
    let measured_from = start + args.warmup;
    let end = measured_from + args.duration;
    let mut tally = Tally::default();
    while Instant::now() < end {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        let outcome = flow(&http, &args, n).await;
        if began < measured_from || Instant::now() > end {
            continue; // started in the warm-up or finished after the end: not counted
        }
        match outcome {
            Ok(took) => {
                tally
                    .flows
                    .push(began.elapsed().as_micros().min(u32::MAX as u128) as u32);
                for (sum, t) in tally.steps.iter_mut().zip(took) {
                    *sum += t;
                }
            }
            Err(e) => *tally.errors.entry(first(&e)).or_default() += 1,
        }
    }
    tally
}

fn loopback(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<String> = s
                .rsplit(')')
                .next()?
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    for url in [&args.public, &args.admin] {
        if !loopback(url) {
            return Err(format!("refusing a non-loopback URL: {url}").into());
        }
    }
    let args = Arc::new(args);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let cpu_before = cpu_seconds();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(args.clone(), counter.clone(), start)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await?;
        all.flows.extend(t.flows);
        for (sum, s) in all.steps.iter_mut().zip(t.steps) {
            *sum += s;
        }
        for (e, n) in t.errors {
            *all.errors.entry(e).or_default() += n;
        }
    }
    let cpu = cpu_seconds() - cpu_before;
    all.flows.sort_unstable();
    let n = all.flows.len();
    let errors: u64 = all.errors.values().sum();
    let secs = args.duration.as_secs_f64();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        f64::from(all.flows[i]) / 1000.0
    };
    let rate = n as f64 / secs;
    println!(
        "flows: {n} complete in {secs:.0} s at concurrency {} (scope \"{}\"), {errors} failed",
        args.concurrency, args.scope
    );
    println!("flows/s: {rate:.1}");
    println!(
        "per flow (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    if n > 0 {
        println!("mean per step (ms):");
        for (name, sum) in STEPS.iter().zip(all.steps) {
            println!("  {name:<38} {:.2}", sum as f64 / n as f64 / 1000.0);
        }
    }
    println!(
        "load generator CPU: {:.2} s ({:.0} µs per flow)",
        cpu,
        if n > 0 { cpu * 1e6 / n as f64 } else { 0.0 }
    );
    for (e, count) in &all.errors {
        println!("error x{count}: {e}");
    }
    println!(
        "FLOWRESULT {rate:.1} {:.2} {:.2} {errors} {n}",
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
