//! The deployment files: docker-compose.yml only sets real configuration keys, the Dockerfile
//! runs `serve all` as a non-root user. (No Docker engine runs here, so they are read, not run.)

use portcullis::config::{env::env_name, schema};
use std::collections::BTreeSet;

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn compose_env_vars_are_real_config_keys() {
    let compose: serde_json::Value =
        serde_norway::from_str(&repo_file("docker-compose.yml")).unwrap();
    let known: BTreeSet<String> = schema::leaves().iter().map(|l| env_name(&l.path)).collect();
    let services = compose["services"].as_object().expect("services");
    let mut checked = 0;
    for (name, service) in services {
        let is_portcullis = service.get("build").is_some()
            || service["image"]
                .as_str()
                .is_some_and(|i| i.contains("portcullis"));
        if !is_portcullis {
            continue;
        }
        // The example UI service runs the same image with its own flags and no environment.
        let Some(env) = service.get("environment") else {
            continue;
        };
        let env = env
            .as_object()
            .unwrap_or_else(|| panic!("{name}: environment must be a mapping"));
        for key in env.keys() {
            assert!(
                known.contains(key),
                "{name}: {key} is not a configuration key"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "the compose file configures portcullis through env vars"
    );
    let serve = services
        .values()
        .find(|s| {
            s["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("serve all"))
        })
        .expect("a serve all service");
    assert!(serve["healthcheck"]["test"]
        .to_string()
        .contains("/health/ready"));
    assert!(services
        .values()
        .any(|s| s["command"].as_str() == Some("migrate sql -e --yes")));
}

#[test]
fn dockerfile_runs_serve_all_as_non_root() {
    let docker = repo_file("Dockerfile");
    for needle in [
        "cargo build --release --locked",
        "EXPOSE 4444 4445",
        "ENTRYPOINT [\"portcullis\"]",
        "CMD [\"serve\", \"all\"]",
        "USER ",
    ] {
        assert!(docker.contains(needle), "Dockerfile lacks {needle}");
    }
}
