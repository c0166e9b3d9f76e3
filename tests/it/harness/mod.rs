//! The integration harness: the real server on ephemeral ports against a real database
//! (a fresh SQLite file or a fresh PostgreSQL database per test), spoken to over HTTP.

pub mod db;
pub mod flow;
pub mod output;
pub mod proxy;

pub use db::{Backend, TestDb};

use portcullis::app;
use portcullis::clock::Clock;
use portcullis::config::{Config, Dsn};
use portcullis::http::{self, AppState};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Expands `async fn name(backend: Backend) { ... }` into `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn case($backend: $crate::harness::Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { case($crate::harness::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { case($crate::harness::Backend::Postgres).await }
        }
    )*};
}

/// A running server: both routers on `127.0.0.1:0`, the same `http::serve` as production.
pub struct TestServer {
    /// `http://127.0.0.1:<port>` of the public listener (no trailing slash).
    pub public: String,
    /// `http://127.0.0.1:<port>` of the admin listener (no trailing slash).
    pub admin: String,
    /// Redirects off, cookie jar on.
    pub http: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Held so the database outlives the server.
    pub db: TestDb,
}

/// A reqwest client as a browser-less relying party uses it: no redirects followed.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("reqwest client")
}

impl TestServer {
    /// A server on a fresh, migrated database of `backend`.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// As [`start`](Self::start), with the configuration adjusted by `tweak`.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let db = TestDb::create(backend).await;
        db.migrate().await;
        let dsn = db.dsn();
        Self::start_on(db, dsn, tweak).await
    }

    /// A server on `db`, reached through `dsn` (which may differ: a proxy, say).
    pub async fn start_on(db: TestDb, dsn: String, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let public = TcpListener::bind("127.0.0.1:0").await.expect("bind public");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let public_url = format!("http://{}", public.local_addr().expect("addr"));
        let admin_url = format!("http://{}", admin.local_addr().expect("addr"));
        let mut config = Config::for_tests(&format!("{public_url}/"));
        config.dsn = Dsn::parse(&dsn).expect("test DSN");
        tweak(&mut config);
        // A manual clock at the current time: tests advance it instead of sleeping.
        let state = app::build(config, Clock::manual(Clock::system().now()))
            .await
            .expect("app builds");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(http::serve(
            Some(public),
            Some(admin),
            state.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            public: public_url,
            admin: admin_url,
            http: http_client(),
            state,
            stop: Some(stop),
            task: Some(task),
            db,
        }
    }

    /// Another instance of the same deployment, as a second process behind one load balancer:
    /// its own listeners, pool, caches and clock, this server's configuration (issuer,
    /// secrets) and database. It does not own the database: stop it before this one.
    pub async fn start_twin(&self) -> TestServer {
        let config = (*self.state.config).clone();
        Self::start_on(TestDb::placeholder(), self.db.dsn(), move |c| *c = config).await
    }

    /// Signals shutdown and returns the serve task, which ends once requests in flight finish.
    pub fn shutdown(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("server still running")
    }

    /// Stops the server and closes its pool.
    pub async fn stop(self) {
        self.stop_keeping_db().await;
    }

    /// Stops the server and hands back its database, for a restart on the same data.
    pub async fn stop_keeping_db(mut self) -> TestDb {
        let task = self.shutdown();
        task.await.expect("serve task").expect("serve ends cleanly");
        self.state.db.close().await;
        std::mem::replace(&mut self.db, TestDb::placeholder())
    }

    pub fn public_url(&self, path: &str) -> String {
        format!("{}{}", self.public, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{}", self.admin, path)
    }

    /// Any call on the admin listener with an optional JSON body.
    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let mut req = self.http.request(method, self.admin_url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        Resp::read(req.send().await.expect("request")).await
    }

    /// `POST /oauth2/introspect` for `token`: the JSON body (the call must answer 200).
    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        let r = Resp::read(
            self.http
                .post(self.admin_url("/oauth2/introspect"))
                .form(&[("token", token)])
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Whether introspection calls `token` active.
    pub async fn active(&self, token: &str) -> bool {
        self.introspect(token).await["active"] == serde_json::Value::Bool(true)
    }

    /// GET on the admin listener: status and JSON body.
    pub async fn admin_get(&self, path: &str) -> (u16, serde_json::Value) {
        json_of(
            self.http
                .get(self.admin_url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// GET on the public listener: status and JSON body.
    pub async fn public_get(&self, path: &str) -> (u16, serde_json::Value) {
        json_of(
            self.http
                .get(self.public_url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response's status and JSON body (`Null` when the body is not JSON).
pub async fn json_of(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A response read whole: status, headers and the JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Resp {
    pub async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        }
    }

    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}
