//! Settings: command-line flags, each with an environment variable, over an optional
//! `tongban.toml`, over defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::app::PasswordMaxAge;
use crate::app::rate_limit::RateLimits;

/// Settings shared by every command (`--data-dir`, `--database`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StorageArgs {
    /// Where the SQLite database, uploaded files and keys live.
    #[arg(long, env = "TONGBAN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; defaults to `<data-dir>/tongban.db`.
    #[arg(long = "database", env = "TONGBAN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Optional settings file.
    #[arg(long, env = "TONGBAN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Settings of `tongban serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TONGBAN_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Seed the demo data into an empty database and show the 演示环境 banner.
    #[arg(long, env = "TONGBAN_DEMO")]
    pub demo: bool,
    /// Mark cookies `Secure` (set when served behind TLS).
    #[arg(long, env = "TONGBAN_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Multiplies every rate limit (load benchmarks, which send everything from one address).
    #[arg(long, env = "TONGBAN_RATE_LIMIT_SCALE")]
    pub rate_limit_scale: Option<u32>,
    /// The address people reach the platform at (`https://zwfw.example.gov.cn`). When it is
    /// https, cookies are `Secure` with the `__Host-` prefix and HSTS is sent; without it the
    /// demo on plain http works as before.
    #[arg(long, env = "TONGBAN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A bearer token that lets a monitoring system read `/metrics` (otherwise only users with
    /// the `ops.metrics` permission can).
    #[arg(long, env = "TONGBAN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    demo: Option<bool>,
    secure_cookies: Option<bool>,
    public_url: Option<String>,
    metrics_token: Option<String>,
    log_format: Option<String>,
    /// `[password_max_age_days]`: `staff`, `person`, `organisation` (0 = no limit).
    password_max_age_days: Option<PasswordMaxAge>,
    /// `[rate_limits]`: e.g. `login_per_ip = { count = 60, per_secs = 60 }`.
    rate_limits: Option<RateLimits>,
    rate_limit_scale: Option<u32>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Option<Vec<IpAddr>>,
}

/// Identification and authentication settings (docs/security.md, "Identification and authentication rules").
#[derive(Debug, Clone, Default)]
pub struct AccountsConfig {
    pub password_max_age: PasswordMaxAge,
    pub rate_limits: RateLimits,
    /// Peers whose `X-Forwarded-For` names the client; by default none: the client is the
    /// connection's peer.
    pub trusted_proxies: Vec<IpAddr>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub demo: bool,
    pub secure_cookies: bool,
    /// Where people reach the platform (`None`: wherever they connect, plain http allowed).
    pub public_url: Option<url::Url>,
    /// The bearer token for `/metrics`, if one is configured.
    pub metrics_token: Option<String>,
    pub log_json: bool,
    pub accounts: AccountsConfig,
}

impl Config {
    /// True when the platform is served over https (decided by the configured public URL).
    pub fn https(&self) -> bool {
        self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }
}

impl Config {
    pub fn resolve(storage: &StorageArgs, serve: &ServeArgs, log_format: Option<&str>) -> anyhow::Result<Self> {
        let file = read_file_config(storage.config.as_deref())?;
        let data_dir = storage.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data"));
        let database_url =
            storage.database_url.clone().or(file.database_url).unwrap_or_else(|| default_sqlite_url(&data_dir));
        let listen = match serve.listen.or(file.listen) {
            Some(addr) => addr,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let log_json = log_format.or(file.log_format.as_deref()) == Some("json");
        let scale = serve.rate_limit_scale.or(file.rate_limit_scale).unwrap_or(1);
        let accounts = AccountsConfig {
            password_max_age: file.password_max_age_days.unwrap_or_default(),
            rate_limits: file.rate_limits.unwrap_or_default().scaled(scale),
            trusted_proxies: file.trusted_proxies.unwrap_or_default(),
        };
        let public_url = match serve.public_url.clone().or(file.public_url).filter(|u| !u.trim().is_empty()) {
            Some(raw) => {
                let parsed = url::Url::parse(raw.trim()).with_context(|| format!("public_url {raw:?}"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    anyhow::bail!("public_url must be an http or https address, not {raw:?}");
                }
                Some(parsed)
            }
            None => None,
        };
        let metrics_token = serve.metrics_token.clone().or(file.metrics_token).filter(|t| !t.trim().is_empty());
        Ok(Self {
            listen,
            database_url,
            data_dir,
            demo: serve.demo || file.demo.unwrap_or(false),
            secure_cookies: serve.secure_cookies || file.secure_cookies.unwrap_or(false),
            public_url,
            metrics_token,
            log_json,
            accounts,
        })
    }
}

pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("tongban.db").display())
}

fn read_file_config(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from("tongban.toml");
            if !p.exists() {
                return Ok(FileConfig::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("tongban-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let file = dir.join("tongban.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/tongban\"\ndemo = true\n")
            .unwrap_or_default();
        let storage = StorageArgs { config: Some(file.clone()), ..StorageArgs::default() };
        let c = Config::resolve(&storage, &ServeArgs::default(), None).ok();
        assert_eq!(c.as_ref().map(|c| c.listen.port()), Some(9000));
        assert_eq!(c.as_ref().map(|c| c.database_url.as_str()), Some("sqlite:///srv/tongban/tongban.db"));
        assert_eq!(c.as_ref().map(|c| c.demo), Some(true));
        let storage =
            StorageArgs { data_dir: Some("/tmp/x".into()), config: Some(file.clone()), ..StorageArgs::default() };
        let serve = ServeArgs { listen: Some(SocketAddr::from(([127, 0, 0, 1], 1))), ..ServeArgs::default() };
        let c = Config::resolve(&storage, &serve, Some("json")).ok();
        assert_eq!(c.as_ref().map(|c| c.listen.port()), Some(1));
        assert_eq!(c.as_ref().map(|c| c.data_dir.clone()), Some(PathBuf::from("/tmp/x")));
        assert_eq!(c.as_ref().map(|c| c.log_json), Some(true));
        std::fs::write(
            &file,
            "[password_max_age_days]\nstaff = 30\n[rate_limits]\nlogin_per_ip = { count = 5, per_secs = 60 }\n",
        )
        .unwrap_or_default();
        let c =
            Config::resolve(&StorageArgs { config: Some(file.clone()), ..StorageArgs::default() }, &serve, None).ok();
        let accounts = c.map(|c| c.accounts);
        assert_eq!(accounts.as_ref().map(|a| a.password_max_age.staff), Some(30));
        assert_eq!(accounts.as_ref().map(|a| a.password_max_age.person), Some(0));
        assert_eq!(accounts.as_ref().map(|a| a.rate_limits.login_per_ip.count), Some(5));
        assert_eq!(accounts.as_ref().map(|a| a.rate_limits.verify_per_ip), Some(RateLimits::default().verify_per_ip));
        std::fs::write(&file, "public_url = \"https://zwfw.example.gov.cn\"\nmetrics_token = \"t\"\n")
            .unwrap_or_default();
        let c = Config::resolve(
            &StorageArgs { config: Some(file.clone()), ..StorageArgs::default() },
            &ServeArgs::default(),
            None,
        )
        .ok();
        assert_eq!(c.as_ref().map(Config::https), Some(true));
        assert_eq!(c.as_ref().and_then(|c| c.metrics_token.clone()), Some("t".to_owned()));
        for bad in ["ftp://x.example", "not a url", "https://"] {
            let serve = ServeArgs { public_url: Some(bad.into()), ..ServeArgs::default() };
            assert!(Config::resolve(&StorageArgs::default(), &serve, None).is_err(), "{bad}");
        }
        let plain = Config::resolve(
            &StorageArgs { data_dir: Some("/tmp/y".into()), ..StorageArgs::default() },
            &ServeArgs::default(),
            None,
        )
        .ok();
        assert_eq!(plain.as_ref().map(Config::https), Some(false), "plain http without a public URL");
        std::fs::write(&file, "colour = \"blue\"\n").unwrap_or_default();
        assert!(
            Config::resolve(&StorageArgs { config: Some(file), ..StorageArgs::default() }, &ServeArgs::default(), None)
                .is_err()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
