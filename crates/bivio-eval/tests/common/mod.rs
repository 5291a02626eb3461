//! Shared by the integration tests: the reference Python (the project venv) and the datasets.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

/// The project venv's interpreter if it can import `module`; otherwise says why the test is skipped.
/// `scripts/deps.sh test` installs what these tests need, so in CI they always run.
pub fn reference_python(module: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("BIVIO_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bivio")))?;
    let python = cache.join("venv/bin/python");
    let ok = Command::new(&python).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED: {} cannot import `{module}` — run `bash scripts/deps.sh test` to install the reference packages",
            python.display()
        );
        None
    }
}

/// The shared datasets directory (`$BIVIO_DATASETS`, else `../shared/datasets` beside the repository).
pub fn datasets() -> Option<PathBuf> {
    let dir = std::env::var_os("BIVIO_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: no datasets directory at {} (set BIVIO_DATASETS)", dir.display());
        None
    }
}
