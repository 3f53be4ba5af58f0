//! Window intake (/hall/intake): window staff take a walk-in applicant's application on the
//! item's form, with the scanned papers, and submit it for them.

use crate::kit::registry::Access::Perm;
use axum::extract::State;
use axum::extract::multipart::Multipart;
use serde::Deserialize;
use tongban_domain::permission::Permission as P;

use crate::kit::error::WebResult;
use crate::kit::forms::{FormErrors, settle};
use crate::kit::params::Ref;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::kit::upload::read_multipart;
use crate::portal::applications::{answers, form_page, prefill};
use crate::{AppState, Routes};
use tongban_app::applications::{self, Input};
use tongban_domain::reference::ItemCode;

pub fn routes(r: Routes) -> Routes {
    r.post("/hall/intake", Perm(P::CaseIntake), intake_start).post_upload(
        "/hall/intake/{code}",
        Perm(P::CaseIntake),
        intake_submit,
    )
}

#[derive(Deserialize)]
struct IntakeStart {
    #[serde(default)]
    item: String,
    #[serde(default)]
    id_number: String,
}

/// Window intake, step 1: the walk-in applicant's ID number and the item → the item's form.
async fn intake_start(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Form(f): axum::extract::Form<IntakeStart>,
) -> WebResult {
    let walk_in = applications::walk_in(&state.core, &user.actor, &user.token, &f.id_number).await?;
    let g = tongban_app::catalogue::guide(&state.core, f.item.trim()).await?;
    let values = prefill(&state, walk_in.applicant.user_id, &g.def, true).await?;
    let assisted = Some((walk_in.seal, walk_in.applicant.display_name, walk_in.id_number_masked));
    let page = form_page(shell, g, &values, FormErrors::default(), tongban_crypto::random_token(), assisted, None);
    Ok(render(&page))
}

/// Window intake, step 2: the filled form and the scanned papers, submitted for the applicant.
async fn intake_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    multipart: Multipart,
) -> WebResult {
    let parts = read_multipart(multipart).await?;
    let text = |k: &str| parts.text.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let walk_in = applications::walk_in_again(&state.core, &user.actor, &user.token, &text("applicant")).await?;
    let g = tongban_app::catalogue::guide(&state.core, &code).await?;
    let values = answers(&g.def, &parts.text);
    let form_key = Some(text("idempotency_key")).filter(|k| !k.is_empty() && k.len() <= 128);
    let input = Input {
        values: values.clone(),
        uploads: parts.uploads,
        idempotency_key: form_key.as_ref().map(|k| format!("form:{k}")),
        licences: Vec::new(),
    };
    let result = applications::submit_assisted(&state.core, &user.actor, &walk_in.applicant, &code, input).await;
    let done = |saved: applications::Saved| crate::kit::forms::redirect(&format!("/hall?taken={}", saved.number));
    settle(result, done, async |errors| {
        let form_key = form_key.unwrap_or_else(tongban_crypto::random_token);
        let who = Some((walk_in.seal, walk_in.applicant.display_name, walk_in.id_number_masked));
        Ok(form_page(shell, g, &values, errors, form_key, who, None))
    })
    .await
}
