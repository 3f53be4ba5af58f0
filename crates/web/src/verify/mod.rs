//! Public verification of licences (/verify): anyone checks an identifier or a scanned code and
//! sees whether the licence is valid (核验), without a login.

use crate::kit::registry::Access::Public;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::kit::badges::status_tag;
use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::FormErrors;
use crate::kit::shell::{Shell, render, render_status};
use crate::{AppState, Routes};
use tongban_app::AppError;
use tongban_app::licences::{self, Verification};

pub fn routes(r: Routes) -> Routes {
    r.get("/verify", Public, verify_page).get("/verify/{identifier}", Public, verify_result)
}

#[derive(Template)]
#[template(path = "verify/home.html")]
struct VerifyPage {
    shell: Shell,
    identifier: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct VerifyQuery {
    identifier: Option<String>,
}

async fn verify_page(shell: Shell, Query(q): Query<VerifyQuery>) -> Response {
    let Some(raw) = q.identifier else {
        return render(&VerifyPage { shell, identifier: String::new(), errors: FormErrors::default() });
    };
    match licences::parse_identifier(&raw) {
        Ok(id) => crate::kit::forms::redirect(&format!("/verify/{id}")),
        Err(AppError::Invalid(problems)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VerifyPage { shell, identifier: raw, errors: FormErrors(problems) },
        ),
        Err(e) => WebError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "verify/verified.html")]
struct VerifiedPage {
    shell: Shell,
    v: Verification,
}

impl VerifiedPage {
    fn tag(&self) -> &'static str {
        status_tag(&self.v.status)
    }
}

#[derive(Template)]
#[template(path = "verify/not_found.html")]
struct NotFoundPage {
    shell: Shell,
    identifier: String,
}

async fn verify_result(State(state): State<AppState>, shell: Shell, Path(identifier): Path<String>) -> WebResult {
    match licences::verify_identifier(&state.core, &identifier).await {
        Ok(v) => Ok(render(&VerifiedPage { shell, v })),
        Err(AppError::NotFound) => Ok(render_status(StatusCode::NOT_FOUND, &NotFoundPage { shell, identifier })),
        Err(AppError::Invalid(problems)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VerifyPage { shell, identifier, errors: FormErrors(problems) },
        )),
        Err(e) => Err(e.into()),
    }
}
