//! Reading and writing the config file.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::{Config, VERSION};

/// Largest config or token file read (a config is a few KiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads the config; a missing file is an empty config.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text = match read_bounded(path)? {
        Some(t) => t,
        None => return Ok(Config::default_v1()),
    };
    parse(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parses config YAML; unknown keys and wrong types name the key's path.
pub fn parse(text: &str) -> anyhow::Result<Config> {
    if text.trim().is_empty() {
        return Ok(Config::default_v1());
    }
    let value: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("not valid YAML: {e}"))?;
    let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!("{path}: {}", e.into_inner())
    })?;
    anyhow::ensure!(
        config.version == VERSION,
        "version: {:?} is not supported (expected {VERSION:?})",
        config.version
    );
    config.validate()?;
    Ok(config)
}

/// Writes the config 0600, atomically.
pub fn save(path: &Path, config: &Config) -> anyhow::Result<()> {
    let text = serde_saphyr::to_string(config).context("serialising the config")?;
    write_private(path, text.as_bytes())
}

/// Writes `bytes` to `path` with mode 0600 through a temporary file and a rename.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if !dir.exists() {
        // A directory bgctl creates holds logins: only its owner may list it.
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            b.mode(0o700);
        }
        b.create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        // The mode above applies only to new files; a stale temp file may be wider.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file's text, `None` when it does not exist; refuses files over [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path) -> anyhow::Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    anyhow::ensure!(
        meta.len() <= MAX_FILE_BYTES,
        "{} is larger than {MAX_FILE_BYTES} bytes",
        path.display()
    );
    std::fs::read_to_string(path)
        .map(Some)
        .with_context(|| format!("reading {}", path.display()))
}

impl Config {
    /// An empty config of the current version.
    pub fn default_v1() -> Self {
        Self {
            version: VERSION.to_owned(),
            ..Self::default()
        }
    }
}
