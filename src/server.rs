//! `tongban serve`: storage, state, the background job worker, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{self, Core};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::FieldCipher;
use crate::store::Db;
use crate::web::{self, AppState, WebSettings};

/// Opens storage (creating what is missing), applies migrations and builds the shared state,
/// on the system clock.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    build_state_with_clock(config, Clock::System).await
}

/// [`build_state`] on a given clock (tests pass a `TestClock` and move time with it).
pub async fn build_state_with_clock(config: &Config, clock: Clock) -> anyhow::Result<AppState> {
    crate::store::restrict_data_dir(&config.data_dir, &config.database_url)?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let cipher = FieldCipher::load_or_create(&config.data_dir)?;
    let core = Core {
        db,
        cipher: cipher.clone(),
        throttle: Arc::default(),
        search: Arc::default(),
        blobs: crate::store::blobs::Blobs::local(&config.data_dir.join("files"), cipher)?,
        workflows: Arc::default(),
        calendar: Arc::default(),
        jobs: Arc::new(crate::jobs::registry()),
        sender: Arc::new(app::notifications::LoggingSender),
        licence_keys: Arc::new(crate::signing::KeyRing::load_or_create(&config.data_dir)?),
        passwords: Arc::new(app::passwords::Checker::new()?),
        limiter: Arc::new(app::rate_limit::InProcess::new(&config.accounts.rate_limits, clock.clone())),
        account_rules: Arc::new(app::AccountRules {
            password_max_age: config.accounts.password_max_age.clone(),
            demo: config.demo,
        }),
        clock,
    };
    app::roles::sync_builtin(&core).await.map_err(|e| anyhow::anyhow!("syncing built-in roles: {e}"))?;
    app::calendar::seed_builtin(&core).await.map_err(|e| anyhow::anyhow!("seeding the work calendar: {e}"))?;
    app::workflows::seed_builtin(&core).await.map_err(|e| anyhow::anyhow!("storing the shipped workflows: {e}"))?;
    app::workflows::validate_stored(&core).await?;
    app::at_rest::convert_once(&core).await.map_err(|e| anyhow::anyhow!("sealing personal data at rest: {e}"))?;
    Ok(AppState {
        core,
        settings: Arc::new(WebSettings {
            demo: config.demo,
            secure_cookies: config.secure_cookies || config.https(),
            trusted_proxies: config.accounts.trusted_proxies.clone(),
            https: config.https(),
            metrics_token: config.metrics_token.clone(),
        }),
        metrics: crate::telemetry::metrics_handle(),
    })
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    if config.demo {
        let seeded = crate::demo::seed_if_empty(&state.core).await?;
        tracing::info!(seeded, "demo mode");
    }
    let worker = crate::jobs::spawn(state.core.clone());
    // A key made by `tongban keys rotate` in another process is taken up within a few seconds.
    let cipher = state.core.cipher.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(app::at_rest::KEY_REFRESH).await;
            if let Err(e) = cipher.refresh() {
                tracing::warn!(error = ?e, "re-reading the field keys");
            }
        }
    });
    // Build the search index before the first searcher has to wait for it.
    let core = state.core.clone();
    tokio::spawn(async move {
        if let Err(e) = app::catalogue::index(&core).await {
            tracing::warn!(error = ?e, "building the search index");
        }
    });
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    tracing::info!("通办 listening on http://{}", listener.local_addr()?);
    let db = state.core.db.clone();
    axum::serve(listener, web::build_app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // In-flight requests have finished; let the running job finish too, then close the pool so
    // SQLite checkpoints its WAL cleanly.
    worker.stop().await;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
