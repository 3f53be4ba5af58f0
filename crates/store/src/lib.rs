//! SQL, one module per aggregate. Functions take a connection (a transaction derefs to one);
//! the same SQL text runs on SQLite and PostgreSQL through sqlx's `Any` driver.

pub mod applications;
pub mod audit;
pub mod blobs;
pub mod cases;
pub mod catalogue;
pub mod jobs;
pub mod licences;
pub mod notifications;
pub mod org;
pub mod queue;
pub mod refusals;
pub mod roles;
pub mod sealed;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr};

pub use sqlx::any::AnyRow;
use tongban_domain::day::Day;

/// A write transaction on either backend. On SQLite it also holds this process's writer turn
/// (see [`Db::begin`]) until it is committed or dropped; it derefs to the connection.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a pool plus which backend it is.
#[derive(Clone)]
pub struct Db {
    /// Reads. On SQLite every connection of this pool is read-only (`PRAGMA query_only`, set
    /// once when it connects).
    pool: AnyPool,
    /// Write transactions. On SQLite its own pool of writable connections (two: one writes, one
    /// is ready), so that no read connection ever has to be switched between read-only and
    /// writable (two statements per checkout, which halved the case page's capacity); on
    /// PostgreSQL the same pool as the reads.
    writes: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Writers of this process take turns here, woken the
    /// moment the previous one finishes; left to `busy_timeout`, a waiting writer sleeps in
    /// growing steps (up to 100 ms) and finds the lock long free when it wakes.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Migrations, paired per backend: the same version and name on both, append-only.
macro_rules! migrations {
    ($($version:literal => $name:literal),* $(,)?) => {
        const MIGRATIONS: &[(i64, &str, &str, &str)] = &[$(
            (
                $version,
                $name,
                include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
                include_str!(concat!("../migrations/postgres/", $name, ".sql")),
            ),
        )*];
    };
}

migrations! {
    1 => "0001_foundation",
    2 => "0002_catalogue",
    3 => "0003_applications",
    4 => "0004_cases",
    5 => "0005_jobs",
    6 => "0006_licences",
    7 => "0007_case_indexes",
    8 => "0008_at_rest",
    9 => "0009_accounts",
    10 => "0010_refusals",
    11 => "0011_failed_jobs",
    12 => "0012_hall_queue",
}

impl Db {
    /// Connects, creating the SQLite file (and its directory) when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("数据库地址须以 sqlite:// 或 postgres:// 开头");
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(&url)
                && let Some(dir) = std::path::Path::new(&path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
            }
        }
        let options = AnyConnectOptions::from_str(&url).context("invalid database URL")?;
        let pool_of = |size: u32, read_only: bool| {
            AnyPoolOptions::new().max_connections(size).acquire_timeout(Duration::from_secs(10)).after_connect(
                move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // WAL lets readers run beside the one writer; FULL makes every commit
                            // durable against power loss, not only against a process crash.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            if read_only {
                                conn.execute("PRAGMA query_only = ON").await?;
                            }
                        }
                        Ok(())
                    })
                },
            )
        };
        let (pool, writes) = match backend {
            Backend::Sqlite => {
                // The writable pool first: it creates the file and switches it to WAL.
                let writes =
                    pool_of(2, false).connect_with(options.clone()).await.context("connecting to the database")?;
                let reads = pool_of(8, true).connect_with(options).await.context("connecting to the database")?;
                (reads, writes)
            }
            Backend::Postgres => {
                let pool = pool_of(16, false).connect_with(options).await.context("connecting to the database")?;
                (pool.clone(), pool)
            }
        };
        Ok(Self { pool, writes, backend, writer: Default::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool of reads (for its gauges, and to close it).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool of writable connections, for statements that must run outside a transaction
    /// (maintenance such as a WAL checkpoint) and for tests that tamper with stored rows. It
    /// skips the writer turn: the application writes through [`Self::begin`].
    pub fn write_pool(&self) -> &AnyPool {
        &self.writes
    }

    /// Closes both pools, waiting for their connections to be given back.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writes.close().await;
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sqlite, postgres)| {
                let sql = if self.backend == Backend::Sqlite { sqlite } else { postgres };
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations).run(&self.writes).await.context("applying migrations")
    }

    /// Starts a write transaction. On SQLite it first waits for this process's writer turn (in
    /// arrival order), then takes the write lock up front (`BEGIN IMMEDIATE`), so a transaction
    /// that reads and then writes cannot fail half-way on a lock upgrade; busy_timeout still
    /// covers writers in other processes (the command line tools).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                Ok(Tx { tx: self.writes.begin_with("BEGIN IMMEDIATE").await?, _turn: Some(turn) })
            }
            Backend::Postgres => Ok(Tx { tx: self.writes.begin().await?, _turn: None }),
        }
    }

    /// A pooled connection for reads. On SQLite it refuses writes (its pool's connections are
    /// `PRAGMA query_only`): a write belongs in [`Self::begin`], which waits for the writer turn
    /// and takes the write lock up front. A write on a read connection would skip the turn and,
    /// after a read on the same connection, could fail at once on the lock upgrade
    /// (`SQLITE_BUSY`, no busy wait) — so it fails every time instead, in the tests.
    pub async fn conn(&self) -> sqlx::Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool.acquire().await
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Makes the data directory private to the service's user: the directory and every folder in it
/// 0700, every file 0600 (fixing those of earlier releases, which were created 0644), and
/// creates the SQLite database file 0600 before SQLite opens it — SQLite gives its `-wal` and
/// `-shm` files the database file's mode.
pub fn restrict_data_dir(data_dir: &std::path::Path, database_url: &str) -> anyhow::Result<()> {
    tongban_crypto::create_private_dir(data_dir)?;
    tongban_crypto::create_private_dir(&data_dir.join("files"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if let Some(path) = sqlite_path(database_url) {
            let path = std::path::Path::new(&path);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tongban_crypto::create_private_dir(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                if file.exists() {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("restricting {}", file.display()))?;
                }
            }
        }
        let mut stack = vec![data_dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
                let entry = entry?;
                let kind = entry.file_type()?;
                let mode = if kind.is_dir() {
                    stack.push(entry.path());
                    0o700
                } else if kind.is_file() {
                    0o600
                } else {
                    continue;
                };
                if entry.metadata()?.permissions().mode() & 0o777 != mode {
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
                        .with_context(|| format!("restricting {}", entry.path().display()))?;
                }
            }
        }
    }
    Ok(())
}

/// The file path in a `sqlite://path?params` URL.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// Reads a 0/1 flag column (booleans are integers on both backends).
pub fn flag(row: &AnyRow, column: &str) -> sqlx::Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// A `YYYY-MM-DD` column as a [`Day`]; any other text is a decoding error naming the column.
pub fn day(row: &AnyRow, column: &str) -> sqlx::Result<Day> {
    let text: String = row.try_get(column)?;
    parse_day(column, &text)
}

/// A column holding one name of a closed set (a status, a kind); another spelling is a decode
/// error naming the column, never a silent default.
pub fn code<T: tongban_domain::code::Code>(row: &AnyRow, column: &str) -> sqlx::Result<T> {
    let text: String = row.try_get(column)?;
    tongban_domain::code::parse(&text)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
}

/// A nullable `YYYY-MM-DD` column.
pub fn day_opt(row: &AnyRow, column: &str) -> sqlx::Result<Option<Day>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| parse_day(column, &t)).transpose()
}

fn parse_day(column: &str, text: &str) -> sqlx::Result<Day> {
    Day::parse(text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(tongban_domain::day::NotADay),
    })
}

/// True when the error is a unique-constraint violation (mapped to a field error by callers).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use tongban_domain::code::Code;

    /// The names a column's `CHECK (column IN (...))` allows in the latest `CREATE TABLE` of
    /// `table` among the migrations of one backend (2 = SQLite, 3 = PostgreSQL).
    fn allowed(backend: usize, table: &str, column: &str) -> Vec<String> {
        let create = format!("CREATE TABLE {table} (");
        let check = format!("CHECK ({column} IN (");
        let body = super::MIGRATIONS
            .iter()
            .filter_map(|m| {
                let sql = if backend == 2 { m.2 } else { m.3 };
                let start = sql.rfind(&create)?;
                let rest = &sql[start..];
                Some(rest[..rest.find("\n);").unwrap_or(rest.len())].to_owned())
            })
            .next_back()
            .unwrap_or_default();
        let Some(at) = body.find(&check) else { return Vec::new() };
        let list = &body[at + check.len()..];
        let list = &list[..list.find(')').unwrap_or(0)];
        let mut names: Vec<String> = list.split(',').map(|n| n.trim().trim_matches('\'').to_owned()).collect();
        names.sort();
        names
    }

    fn spelled<T: Code>() -> Vec<String> {
        let mut names: Vec<String> = T::ALL.iter().map(|c| c.name().to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn each_stored_set_allows_in_the_database_exactly_what_its_enum_spells() {
        use tongban_domain::queue::{TicketChannel, TicketClass, TicketState};
        use tongban_domain::{
            calendar::DayKind, item::ItemStatus, licence::LicenceStatus, org::SiteKind, role::DataScope,
        };
        let columns: [(&str, &str, Vec<String>); 10] = [
            ("licences", "status", spelled::<LicenceStatus>()),
            ("items", "status", spelled::<ItemStatus>()),
            ("work_calendar", "kind", spelled::<DayKind>()),
            ("sites", "kind", spelled::<SiteKind>()),
            ("users", "kind", spelled::<super::users::UserKind>()),
            ("roles", "scope", spelled::<DataScope>()),
            ("user_roles", "scope", spelled::<DataScope>()),
            ("tickets", "class", spelled::<TicketClass>()),
            ("tickets", "state", spelled::<TicketState>()),
            ("tickets", "channel", spelled::<TicketChannel>()),
        ];
        for (table, column, names) in columns {
            for backend in [2, 3] {
                assert_eq!(allowed(backend, table, column), names, "{table}.{column} (backend {backend})");
            }
        }
    }

    #[test]
    fn every_migration_exists_for_both_backends() {
        for (version, name, sqlite, postgres) in super::MIGRATIONS {
            assert!(name.starts_with(&format!("{version:04}_")), "{name}");
            assert!(!sqlite.trim().is_empty() && !postgres.trim().is_empty(), "{name}");
        }
        let on_disk = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        let listed: Vec<String> = super::MIGRATIONS.iter().map(|m| format!("{}.sql", m.1)).collect();
        assert_eq!(on_disk("migrations/sqlite"), listed);
        assert_eq!(on_disk("migrations/postgres"), listed);
    }

    #[test]
    fn finds_the_sqlite_path() {
        assert_eq!(super::sqlite_path("sqlite://./data/tongban.db?mode=rwc").as_deref(), Some("./data/tongban.db"));
        assert_eq!(super::sqlite_path("sqlite::memory:"), None);
    }
}
