//! 一件事: one form and one submission for every item of a life event (a bundle).

use super::applications::{answers, form_page, prefill};
use crate::kit::error::WebResult;
use crate::kit::forms::{FormErrors, settle};
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::kit::upload::read_multipart;
use crate::{AppState, Routes};
use axum::extract::State;
use axum::extract::multipart::Multipart;
use tongban_app::applications::{self, Input};
use tongban_domain::permission::Permission as P;
use tongban_domain::reference::ItemCode;

pub fn routes(r: Routes) -> Routes {
    r.get("/events/{code}/apply", Perm(P::PortalMine), bundle_page).post_upload(
        "/events/{code}/apply",
        Perm(P::PortalMine),
        bundle_submit,
    )
}

/// The combined form of a bundle, rendered as one item's form would be.
fn bundle_view(b: &tongban_app::bundles::Bundle) -> (tongban_app::catalogue::Guide, Vec<(String, String)>) {
    let first = &b.guides[0];
    let mut row = first.row.clone();
    row.name = b.event.name.clone();
    let guide = tongban_app::catalogue::Guide { row, version: 0, def: b.combined.clone(), sites: Vec::new() };
    let items = b.guides.iter().map(|g| (g.def.name.clone(), g.row.department.name.clone())).collect();
    (guide, items)
}

async fn bundle_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
) -> WebResult {
    let b = tongban_app::bundles::bundle(&state.core, &user.actor, &code).await?;
    let (g, items) = bundle_view(&b);
    let values = prefill(&state, user.actor.user_id, &g.def, false).await?;
    let page = form_page(shell, g, &values, FormErrors::default(), tongban_crypto::random_token(), None, Some(items));
    Ok(render(&page))
}

async fn bundle_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    multipart: Multipart,
) -> WebResult {
    let parts = read_multipart(multipart).await?;
    let b = tongban_app::bundles::bundle(&state.core, &user.actor, &code).await?;
    let (g, items) = bundle_view(&b);
    let values = answers(&g.def, &parts.text);
    let form_key = parts
        .text
        .iter()
        .find(|(k, _)| k == "idempotency_key")
        .map(|(_, v)| v.clone())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .unwrap_or_else(tongban_crypto::random_token);
    let input = Input {
        values: values.clone(),
        uploads: parts.uploads,
        idempotency_key: Some(format!("form:{form_key}")),
        licences: Vec::new(),
    };
    let result = tongban_app::bundles::submit(&state.core, &user.actor, &code, input).await;
    let done = |saved: applications::Saved| {
        crate::kit::forms::redirect(&format!("/my/applications/{}?submitted=1", saved.number))
    };
    settle(result, done, async |errors| Ok(form_page(shell, g, &values, errors, form_key, None, Some(items)))).await
}
