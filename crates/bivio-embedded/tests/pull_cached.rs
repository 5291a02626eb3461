//! The cached default model, if present, is the file `bivio model pull default` would accept.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use bivio_embedded::pull::{self, DEFAULT_MODEL};

#[test]
fn the_cached_default_model_has_the_pinned_checksum() {
    let Some(cache) = pull::default_cache_dir() else { return };
    let path = bivio_embedded::default_model_path(&cache);
    if !path.is_file() {
        eprintln!("SKIPPED: {} is not present", path.display());
        return;
    }
    assert_eq!(pull::sha256_file(&path).unwrap(), DEFAULT_MODEL.sha256);
    let listed = pull::list_models(&cache).unwrap();
    assert!(listed.iter().any(|m| m.path == path && m.alias == Some("default") && m.size_bytes > 200_000_000));
}
