//! The `tongban` binary: parses the command line and calls the library.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tongban::config::{Config, ServeArgs, StorageArgs};

#[derive(Parser)]
#[command(name = "tongban", version, about = "通办 — 一网通办政务服务平台")]
struct Cli {
    #[command(flatten)]
    storage: StorageArgs,
    /// `json` for structured logs.
    #[arg(long, env = "TONGBAN_LOG_FORMAT", global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (portal, staff rooms, API).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Seed the demo data into an existing database; `--cases N` adds N generated cases.
    Demo {
        /// Generate this many cases of history (e.g. 1000000 for the benchmarks).
        #[arg(long)]
        cases: Option<u64>,
    },
    /// Manage accounts from the command line (the only way to make the first administrator).
    #[command(subcommand)]
    User(UserCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Electronic licence tools.
    #[command(subcommand)]
    Licence(LicenceCommand),
    /// Keys that encrypt personal data at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new SM4 field key and re-encrypt every personal value and uploaded file under it,
    /// in small batches while the service runs; run it again to resume an interrupted rotation.
    Rotate,
}

#[derive(Subcommand)]
enum LicenceCommand {
    /// Make a new SM2 issuing key and sign new licences with it (old licences still verify).
    /// A running server picks it up when restarted.
    RotateKey,
    /// Mark licences whose validity has ended as expired (the daily job does the same).
    Expire,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account; the password is read from standard input or generated.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Role codes, e.g. `sysadmin`, `secadmin`, `auditor`, `reviewer`.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        site: Option<String>,
    },
    /// Set a new one-time password (printed once; it must be changed at the next login).
    ResetPassword { username: String },
    /// Disable an account and end its sessions.
    Disable { username: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the SM3 hash chain of the audit log.
    Verify,
}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    private_files_by_default();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("错误: 无法启动运行时: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's malloc serves blocks of 128 KiB and more with mmap and gives them back when freed, but
/// by default it raises that threshold to the size of each such block freed (up to 32 MiB). After
/// the first login (argon2 works in 19 MiB) and the first 1 MB uploads, those blocks come from
/// per-thread arenas that keep the memory: the server's resident memory under load ratcheted up to
/// 300-390 MiB where 60-100 MiB is in use (see the README's Performance section). Setting the
/// threshold fixes it at 128 KiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only sets a parameter of the allocator (under its own lock); it is called
    // once, before the runtime starts its threads, and takes no pointers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

/// Everything the service creates (the database and its WAL, uploaded files, keys, temporary
/// files) is readable by its own user only: umask 077. Start-up also fixes the modes of what
/// exists already (`store::restrict_data_dir`).
#[cfg(unix)]
#[allow(unsafe_code)]
fn private_files_by_default() {
    // SAFETY: umask only sets the process's file-creation mask; it takes no pointers, cannot
    // fail, and is called once before any thread starts.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
fn private_files_by_default() {}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => ServeArgs::default(),
    };
    let config = match Config::resolve(&cli.storage, &serve_args, cli.log_format.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("配置错误: {e:#}");
            return ExitCode::from(2);
        }
    };
    tongban::telemetry::init_logging(config.log_json);
    match run(cli.command, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    use tongban::cli;
    match command {
        Command::Serve(_) => tongban::server::serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => cli::migrate(&config).await,
        Command::Demo { cases } => cli::demo(&config, cases).await,
        Command::User(UserCommand::Create { username, name, roles, department, site }) => {
            let password = read_password_from_stdin()?;
            cli::user_create(&config, &username, &name, &roles, department.as_deref(), site.as_deref(), password).await
        }
        Command::User(UserCommand::ResetPassword { username }) => cli::user_reset_password(&config, &username).await,
        Command::User(UserCommand::Disable { username }) => cli::user_disable(&config, &username).await,
        Command::Audit(AuditCommand::Verify) => cli::audit_verify(&config).await,
        Command::Licence(LicenceCommand::RotateKey) => cli::licence_rotate_key(&config).await,
        Command::Licence(LicenceCommand::Expire) => cli::licence_expire(&config).await,
        Command::Keys(KeysCommand::Rotate) => cli::keys_rotate(&config).await,
    }
}

/// A password piped on standard input (`echo … | tongban user create …`); none on a terminal,
/// where one is generated instead so that it never sits in the shell history.
fn read_password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok((!line.is_empty()).then_some(line))
}
