//! `portcullis example-ui`: the reference login, consent and logout app on its own port, and
//! its `serve all --dev` wiring: with no `urls.login`/`urls.consent`/`urls.logout`
//! configured, the app runs in the same process on 127.0.0.1:3000, those URLs point at it,
//! a demo client is registered in the server's store and a ready-to-click authorization URL
//! is printed. Outside `--dev` none of this runs.
//! May import: `app`, `client` (the demo client), `clock`, `config`, `crypto`, `example_ui`,
//! `http` (the example UI's listener, the state the demo client is written through).

use crate::app::{self, Listeners};
use crate::client::{self, OAuth2Client};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::random;
use crate::example_ui::users::User;
use crate::example_ui::{DemoClient, ExampleUi, Settings};
use crate::http::AppState;
use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use std::sync::Arc;
use tokio::net::TcpListener;
use url::Url;

/// The demo client `serve all --dev` registers.
pub const DEMO_CLIENT_ID: &str = "demo";
/// The callback of `portcullis token user` on its default port.
const TOKEN_USER_CALLBACK: &str = "http://127.0.0.1:4446/callback";

/// `portcullis example-ui`.
#[derive(Args, Debug)]
pub struct ExampleUiCmd {
    /// The admin API's URL.
    #[arg(
        long,
        env = "PORTCULLIS_ADMIN_URL",
        default_value = "http://127.0.0.1:4445"
    )]
    admin_url: String,
    /// The port to listen on.
    #[arg(short = 'p', long, default_value_t = 3000)]
    port: u16,
    /// The address to listen on (0.0.0.0 in a container).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// A user who can log in, as EMAIL:PASSWORD[:NAME] (repeatable, or comma-separated in
    /// EXAMPLE_UI_USERS). Default: the demo user foo@bar.com / foobar.
    #[arg(
        long = "user",
        env = "EXAMPLE_UI_USERS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    users: Vec<String>,
}

fn users(specs: &[String]) -> anyhow::Result<Vec<User>> {
    if specs.is_empty() {
        return Ok(vec![User::demo()]);
    }
    specs
        .iter()
        .map(|s| User::parse(s).map_err(anyhow::Error::msg))
        .collect()
}

fn print_users(users: &[User]) {
    for u in users {
        if u.email == crate::example_ui::users::DEMO_EMAIL {
            println!("Demo user: {} / {}", u.email, u.password());
        } else {
            println!("User: {}", u.email);
        }
    }
}

/// Runs `portcullis example-ui` until interrupted.
pub async fn run(cmd: ExampleUiCmd) -> anyhow::Result<()> {
    let admin_url = Url::parse(&cmd.admin_url)
        .with_context(|| format!("--admin-url {:?} is not a URL", cmd.admin_url))?;
    let users = users(&cmd.users)?;
    let ui = ExampleUi::new(Settings {
        admin_url,
        users: users.clone(),
        demo: None,
    })
    .map_err(anyhow::Error::msg)?;
    let addr = if cmd.host.contains(':') {
        format!("[{}]:{}", cmd.host, cmd.port)
    } else {
        format!("{}:{}", cmd.host, cmd.port)
    };
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!(
        "Example login, consent and logout UI on http://{local} (admin API: {})",
        cmd.admin_url
    );
    println!("Point the server at it: URLS_LOGIN=http://{local}/login URLS_CONSENT=http://{local}/consent URLS_LOGOUT=http://{local}/logout");
    print_users(&users);
    crate::http::example_ui::serve(listener, Arc::new(ui), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("example UI server error")
}

/// The example UI of `serve all --dev`, prepared before the configuration is frozen.
pub struct DevUi {
    listener: TcpListener,
    base: String,
}

/// With `--dev`, `serve all` and no `urls.login`/`urls.consent`/`urls.logout` configured:
/// binds 127.0.0.1:`port` and points those URLs at it. `None` otherwise.
pub async fn prepare_dev(
    config: &mut Config,
    listeners: Listeners,
    port: u16,
) -> anyhow::Result<Option<DevUi>> {
    if !config.flags.dev || listeners != Listeners::All || config.urls.ui_configured {
        return Ok(None);
    }
    let addr = format!("127.0.0.1:{port}");
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            // Another process (often a second `--dev` server) has the port: serve without
            // the example UI rather than not at all; the built-in fallback pages remain.
            tracing::warn!("--dev: cannot listen on {addr} for the example login UI ({e}): running without it; set --example-ui-port, or urls.login, urls.consent and urls.logout");
            return Ok(None);
        }
    };
    let base = format!("http://{}", listener.local_addr()?);
    for (url, path) in [
        (&mut config.urls.login, "login"),
        (&mut config.urls.consent, "consent"),
        (&mut config.urls.logout, "logout"),
    ] {
        *url = Url::parse(&format!("{base}/{path}"))?;
    }
    Ok(Some(DevUi { listener, base }))
}

/// `serve`: the server, and the example UI of `--dev` beside it when prepared.
pub async fn serve(config: Config, listeners: Listeners, dev: Option<DevUi>) -> anyhow::Result<()> {
    let Some(dev) = dev else {
        return Ok(app::start(config, listeners).await?);
    };
    let loopback = |host: &str| match host {
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    let admin = Url::parse(&format!(
        "http://{}:{}/",
        loopback(&config.serve.admin.host),
        config.serve.admin.port
    ))?;
    let token_url = Url::parse(&format!(
        "http://{}:{}/oauth2/token",
        loopback(&config.serve.public.host),
        config.serve.public.port
    ))?;
    let public = config.urls.public.clone();
    let redirect_uri = format!("{}/callback", dev.base);
    let state = random::string_from(b"abcdefghijklmnopqrstuvwxyz", 24);
    let nonce = random::string_from(b"abcdefghijklmnopqrstuvwxyz", 24);
    let mut auth_url = public.join("oauth2/auth")?;
    auth_url
        .query_pairs_mut()
        .append_pair("client_id", DEMO_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid offline email profile")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce);
    let demo = DemoClient {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: random::client_secret(),
        redirect_uri,
        token_url,
        auth_url: auth_url.to_string(),
        state,
        logout_url: public.join("oauth2/sessions/logout")?.to_string(),
    };
    let users = vec![User::demo()];
    let ui = Arc::new(
        ExampleUi::new(Settings {
            admin_url: admin.clone(),
            users: users.clone(),
            demo: Some(demo.clone()),
        })
        .map_err(anyhow::Error::msg)?,
    );
    let state = app::build(config, Clock::system()).await?;
    register_demo_client(&state, &demo)
        .await
        .context("--dev: cannot register the demo client")?;
    let ui_task = tokio::spawn(crate::http::example_ui::serve(
        dev.listener,
        ui,
        std::future::pending(),
    ));
    announce(&dev.base, &users, &demo, public.as_str());
    let served = app::run(state, listeners).await;
    ui_task.abort();
    Ok(served?)
}

fn announce(base: &str, users: &[User], demo: &DemoClient, public: &str) {
    println!();
    println!("Example login, consent and logout UI on {base} (urls.login, urls.consent and urls.logout point at it).");
    print_users(users);
    println!("Demo client: {} / {}", demo.client_id, demo.client_secret);
    println!("Open this URL in a browser and sign in as the demo user:");
    println!();
    println!("    {}", demo.auth_url);
    println!();
    println!(
        "Or run: portcullis token user --client-id {} --client-secret {} --endpoint {public}",
        demo.client_id, demo.client_secret
    );
    println!();
}

/// Creates the demo client in the server's store (on a persistent database that already
/// has it, replaces it, so that this process's secret and callback hold).
async fn register_demo_client(state: &AppState, demo: &DemoClient) -> anyhow::Result<()> {
    let body: OAuth2Client = serde_json::from_value(json!({
        "client_id": demo.client_id,
        "client_name": "Portcullis demo client",
        "client_secret": demo.client_secret,
        "redirect_uris": [demo.redirect_uri, TOKEN_USER_CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline offline_access email profile",
    }))?;
    let deps = client::Deps {
        rules: &state.client_rules,
        hasher: &state.hasher,
        http: &state.http_client,
    };
    let now = state.clock.now();
    match client::create(&state.db, &deps, body.clone(), now).await {
        Ok(_) => Ok(()),
        Err(e) if e.status == 409 => {
            client::update(&state.db, &deps, &demo.client_id, body, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        }
        Err(e) => bail!("{e}"),
    }
}
