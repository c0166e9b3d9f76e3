//! The dependency rules of STYLE.md §3, checked on the source tree: no `sqlx` outside
//! `src/store/`, no `axum` outside `src/http/`, no wall-clock reads outside `src/clock.rs`,
//! no `std::env` outside `src/config/`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_keep_to_their_dependencies() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rules: [(&str, &[&str], &str); 5] = [
        ("sqlx::", &["store/"], "SQL lives in src/store/"),
        ("axum::", &["http/"], "HTTP types live in src/http/"),
        ("Utc::now", &["clock.rs"], "read time through Clock"),
        ("SystemTime::now", &["clock.rs"], "read time through Clock"),
        (
            "std::env::",
            &["config/"],
            "only config reads the environment",
        ),
    ];
    let mut violations = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (needle, allowed, why) in rules {
            if allowed.iter().any(|a| rel.starts_with(a)) {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if code.contains(needle) {
                    violations.push(format!("src/{rel}:{}: `{needle}` ({why})", n + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
