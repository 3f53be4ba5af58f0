//! The hall screen (叫号显示屏, `/hall/screen/<site>`): a wall page for a TV, read from 5 m. The
//! last calls in huge type and the waiting count per service, pushed by server-sent events
//! (`/hall/screen/<site>/events`); the page chimes and speaks each new call (`screen.js`). It
//! shows ticket numbers and window names only, so it needs no login.
//!
//! The stream looks at the site's change count once a second (one row by key, from any node)
//! and sends the screen whole when it moved; a `ping` event after 15 quiet seconds keeps proxies
//! from closing it, and tells the page the connection is alive.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, Sse};
use futures_util::stream::{self, Stream};
use tongban_app::queue::{self, Screen};

use crate::kit::error::WebResult;
use crate::kit::params::Ref;
use crate::kit::registry::Access::Public;
use crate::kit::shell::render;
use crate::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/hall/screen/{site}", Public, screen).get("/hall/screen/{site}/events", Public, events)
}

#[derive(Template)]
#[template(path = "hall/screen.html")]
struct ScreenPage {
    screen: Screen,
    site_code: String,
    asset_version: &'static str,
}

impl ScreenPage {
    /// The screen as the stream sends it, so that the script knows what it already shows (no
    /// announcement for calls made before the page loaded). `<` is escaped: it sits in a script
    /// element.
    fn initial_json(&self) -> String {
        serde_json::to_string(&self.screen).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c")
    }
}

async fn screen(State(state): State<AppState>, Ref(site): Ref<String>) -> WebResult {
    let (site_id, name) = queue::screen_site(&state.core, &site).await?;
    let screen = queue::screen(&state.core, site_id, &name).await?;
    Ok(render(&ScreenPage { screen, site_code: site, asset_version: crate::kit::assets::version() }))
}

async fn events(State(state): State<AppState>, Ref(site): Ref<String>) -> WebResult {
    let (site_id, name) = queue::screen_site(&state.core, &site).await?;
    Ok(Sse::new(updates(state, site_id, name)).into_response())
}

/// Seconds between two `ping` events when nothing changes: the page takes a longer silence as a
/// lost connection.
const PING_SECONDS: u32 = 15;

/// The screen whole at the start and after each change, and a `ping` when nothing changed for
/// [`PING_SECONDS`]; a failed read is skipped (the page keeps its last state and marks it old if
/// nothing comes).
fn updates(state: AppState, site_id: i64, name: String) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((state, None::<i64>), move |(state, last)| {
        let name = name.clone();
        async move {
            let mut quiet = 0;
            loop {
                if last.is_some() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    quiet += 1;
                }
                if quiet >= PING_SECONDS {
                    let ping = Event::default().event("ping").data(last.unwrap_or_default().to_string());
                    return Some((Ok(ping), (state, last)));
                }
                let Ok(version) = queue::screen_version(&state.core, site_id).await else { continue };
                if Some(version) == last {
                    continue;
                }
                let Ok(screen) = queue::screen(&state.core, site_id, &name).await else { continue };
                let Ok(event) = Event::default().event("screen").json_data(&screen) else { continue };
                return Some((Ok(event), (state, Some(version))));
            }
        }
    })
}
