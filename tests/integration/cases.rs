//! Case handling: the promised workflow from submission through a one-time notice, supplement,
//! examination and the head's decision to delivery; every kind of refused move; two people
//! acting at once; queues and scope; random walks that keep the queue counters true.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tongban::domain::day::Day;

use tongban::domain::item::FieldType;

use crate::builders::CaseState::Examined;
use crate::builders::{Account, Item, TEST_PDF, a_field, a_material, answers_for};
use crate::common::{TestApp, json as body};

const PDF: &[u8] = TEST_PDF;
/// 个体工商户设立登记 as these tests use it (see [`office`]).
pub const ITEM: &str = "310112-SCJGJ-001";

/// The 区市场监管局's office: the item [`ITEM`] (fully online, a 承诺件 of one promised day,
/// three required materials and an optional fourth, a form with an ID number and the facts of
/// the 个体工商户营业执照 it issues on approval), a citizen 张三, a reviewer and the head.
pub struct Office {
    pub item: Item,
    pub citizen: Account,
    pub reviewer: Account,
    pub head: Account,
}

pub async fn office(app: &TestApp) -> Office {
    app.a_department("SCJGJ", "区市场监管局").await;
    app.ensure_site("xinzhuang").await;
    let licence = app
        .a_licence_type("INDIVIDUAL_BUSINESS_LICENCE")
        .named("个体工商户营业执照")
        .face("holder_name|经营者|必填\nbusiness_name|名称|选填\norganisation_form|组成形式|必填\nbusiness_address|经营场所|必填\nbusiness_scope|经营范围|必填")
        .await;
    let mut organisation_form = a_field("organisation_form", "组成形式", FieldType::Select);
    organisation_form.options = vec!["个人经营".into(), "家庭经营".into()];
    let optional = tongban::domain::item::Material { required: false, ..a_material("M04", "家庭成员关系证明") };
    let item = app
        .an_item()
        .code(ITEM)
        .named("个体工商户设立登记")
        .in_department("SCJGJ")
        .days(1, 3)
        .with_materials(vec![
            a_material("M01", "经营者居民身份证"),
            a_material("M02", "经营场所使用证明"),
            a_material("M03", "个体工商户登记（备案）申请书"),
            optional,
        ])
        .with_fields(vec![
            a_field("applicant_name", "经营者姓名", FieldType::Text),
            a_field("id_number", "身份证号", FieldType::IdNumber),
            a_field("phone", "联系电话", FieldType::Phone),
            organisation_form,
            a_field("business_address", "经营场所", FieldType::Address),
            a_field("business_scope", "经营范围", FieldType::Textarea),
        ])
        .issuing(&licence)
        .await;
    Office {
        item,
        citizen: app.a_citizen().named("张三").await,
        reviewer: app.a_reviewer("SCJGJ").await,
        head: app.a_head("SCJGJ").await,
    }
}

pub fn pdf(name: &str) -> Part {
    Part::bytes(PDF.to_vec()).file_name(format!("{name}.pdf")).mime_str("application/pdf").unwrap()
}

/// Submits the item as `by` through the API; returns (application number, case number).
pub async fn submit(app: &TestApp, item: &str, by: &Account) -> (String, String) {
    let def = tongban::app::catalogue::guide(&app.state.core, item).await.unwrap().def;
    let client = by.api().await;
    let answers = answers_for(&def, &by.display_name);
    let mut form = Form::new().text("item", item.to_owned()).text("form", Value::Object(answers).to_string());
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), pdf(&m.code));
    }
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let number = body(r).await["number"].as_str().unwrap().to_owned();
    let case = case_of(app, &number).await;
    (number, case)
}

pub async fn case_of(app: &TestApp, application: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT c.number FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.number = $1")
        .bind(application)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("number")
}

pub async fn act(client: &reqwest::Client, app: &TestApp, case: &str, action: Value) -> reqwest::Response {
    client.post(app.url(&format!("/api/v1/cases/{case}/actions"))).json(&action).send().await.unwrap()
}

async fn get_case(client: &reqwest::Client, app: &TestApp, case: &str) -> Value {
    let r = client.get(app.url(&format!("/api/v1/cases/{case}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    body(r).await
}

fn actions(v: &Value) -> Vec<String> {
    v["available_actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_promised_case_runs_from_submission_through_supplement_to_delivery() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (application, case) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.api().await;
    let head = office.head.api().await;

    let v = get_case(&reviewer, &app, &case).await;
    assert_eq!(v["status"], "submitted");
    assert_eq!(v["warning"], "none");
    assert!(v["promised_deadline"].is_null(), "the clock starts at acceptance");
    assert_eq!(actions(&v), ["accept", "refuse", "request_supplement"]);

    // One-time notice: every defective material at once, with what is wrong.
    let r = act(
        &reviewer,
        &app,
        &case,
        json!({"action": "request_supplement", "materials": ["M01", "M02"], "material_notes": {"M01": "照片模糊"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["status"], "supplement_requested");
    assert_eq!(v["notice"].as_array().unwrap().len(), 2);
    assert!(actions(&v).is_empty(), "the applicant acts next");

    // The applicant is told at once (message centre, and a text message queued for the phone)…
    let citizen = office.citizen.api().await;
    let messages = body(citizen.get(app.url("/api/v1/messages")).send().await.unwrap()).await;
    let first = &messages["items"][0];
    assert!(first["title"].as_str().unwrap().contains("待补正"), "{first}");
    assert!(first["body"].as_str().unwrap().contains("照片模糊"), "{first}");
    assert_eq!(first["link"], format!("/my/applications/{application}").as_str());
    // …sees the notice and uploads only what was asked.
    let detail = body(citizen.get(app.url(&format!("/api/v1/applications/{application}"))).send().await.unwrap()).await;
    assert_eq!(detail["status"], "supplement_requested");
    let wrong = Form::new().part("material:M03", pdf("M03"));
    let r = citizen
        .post(app.url(&format!("/api/v1/applications/{application}/supplement")))
        .multipart(wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "M03 was not asked for, M01 and M02 are missing");
    let problems = body(r).await["details"].as_array().unwrap().len();
    assert_eq!(problems, 3);
    let right = Form::new().part("material:M01", pdf("M01-new")).part("material:M02", pdf("M02-new"));
    let r = citizen
        .post(app.url(&format!("/api/v1/applications/{application}/supplement")))
        .multipart(right)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["status"], "submitted");

    // Accept: the clock starts; examine; the head decides.
    let r = act(&reviewer, &app, &case, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["status"], "accepted");
    let today = app.clock.today();
    let calendar = tongban::app::calendar::load(&app.state.core).await.unwrap();
    let expected = calendar.add_working_days(today, 1).to_string();
    assert_eq!(v["promised_deadline"], expected.as_str(), "promised days count from the next working day");
    let r = act(&reviewer, &app, &case, json!({"action": "approve"})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "approval waits for the examination");
    let r = act(&reviewer, &app, &case, json!({"action": "examine", "comment": "材料齐全，符合条件"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = act(&reviewer, &app, &case, json!({"action": "approve"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only the head decides");
    let r = act(&head, &app, &case, json!({"action": "approve", "comment": "同意"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["status"], "approved");
    assert_eq!(v["warning"], "none");
    let r = act(
        &reviewer,
        &app,
        &case,
        json!({"action": "deliver", "delivery": {"method": "pickup", "site": "xinzhuang"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["status"], "delivered");

    // The applicant saw every step, and every step was audited.
    let detail = body(citizen.get(app.url(&format!("/api/v1/applications/{application}"))).send().await.unwrap()).await;
    assert_eq!(detail["status"], "delivered");
    let kinds: Vec<&str> = detail["timeline"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    for step in
        ["case.request_supplement", "case.resubmit", "case.accept", "case.examine", "case.approve", "case.deliver"]
    {
        assert!(kinds.contains(&step), "{step} missing from {kinds:?}");
    }
    for action in ["case.accept", "case.examine", "case.approve", "case.deliver", "case.request_supplement"] {
        assert_eq!(app.audit_rows(action).await.len(), 1, "{action}");
    }
}

#[tokio::test]
async fn bad_actions_are_refused_clearly_and_change_nothing() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (_, case) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.api().await;
    let before = get_case(&reviewer, &app, &case).await;

    let r = act(&reviewer, &app, &case, json!({"action": "fly"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = act(&reviewer, &app, &case, json!({"action": "examine", "comment": "x"})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(body(r).await["message"].as_str().unwrap().contains("待受理"), "the message names the current state");
    let r = act(&reviewer, &app, &case, json!({"action": "refuse"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> =
        body(r).await["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["comment", "legal_basis"], "every missing requirement at once");
    let r = act(&reviewer, &app, &case, json!({"action": "request_supplement", "materials": []})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = act(&reviewer, &app, &case, json!({"action": "request_supplement", "materials": ["NOPE"]})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = act(
        &reviewer,
        &app,
        &case,
        json!({"action": "accept", "row_version": before["row_version"].as_i64().unwrap() + 7}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "a stale version loses");

    // Another department's reviewer, and the applicant, may not act.
    let other = app.a_reviewer("RSJ").await.api().await;
    let r = act(&other, &app, &case, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let citizen = office.citizen.api().await;
    let r = act(&citizen, &app, &case, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let after = get_case(&reviewer, &app, &case).await;
    assert_eq!(after["status"], "submitted");
    assert_eq!(after["row_version"], before["row_version"]);
    assert_eq!(after["timeline"].as_array().unwrap().len(), before["timeline"].as_array().unwrap().len());
}

#[tokio::test]
async fn a_withdrawn_case_takes_no_more_actions() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (application, case) = submit(&app, ITEM, &office.citizen).await;
    let citizen = office.citizen.api().await;
    let r = citizen.post(app.url(&format!("/api/v1/applications/{application}/withdraw"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["status"], "withdrawn");
    let reviewer = office.reviewer.api().await;
    let v = get_case(&reviewer, &app, &case).await;
    assert_eq!(v["status"], "withdrawn");
    assert!(actions(&v).is_empty());
    let r = act(&reviewer, &app, &case, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn of_two_people_acting_at_once_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let reviewer = office.reviewer.api().await;
    let head = office.head.api().await;
    for _ in 0..3 {
        let (_, case) = submit(&app, ITEM, &office.citizen).await;
        let v = get_case(&reviewer, &app, &case).await;
        let version = v["row_version"].as_i64().unwrap();
        let a = act(&reviewer, &app, &case, json!({"action": "accept", "row_version": version}));
        let b = act(
            &head,
            &app,
            &case,
            json!({"action": "refuse", "comment": "不符合", "legal_basis": "《行政许可法》第三十二条", "row_version": version}),
        );
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
        let loser = if a.status() == StatusCode::CONFLICT { a } else { b };
        let message = body(loser).await["message"].as_str().unwrap().to_owned();
        assert!(message.contains("当前状态为"), "{message}");
        let v = get_case(&reviewer, &app, &case).await;
        assert_eq!(v["timeline"].as_array().unwrap().len(), 2, "one submit and one winning move");
    }
}

#[tokio::test]
async fn suspension_pauses_the_clock_and_extension_is_granted_once() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (_, case) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.api().await;
    let head = office.head.api().await;
    assert_eq!(act(&reviewer, &app, &case, json!({"action": "accept"})).await.status(), StatusCode::OK);
    let before = get_case(&reviewer, &app, &case).await;
    let r = act(&reviewer, &app, &case, json!({"action": "suspend"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a suspension needs its reason");
    let r = act(&reviewer, &app, &case, json!({"action": "suspend", "comment": "组织听证"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["status"], "suspended");
    assert!(v["due_on"].is_null(), "a paused case is not due");
    let r = act(&reviewer, &app, &case, json!({"action": "resume", "comment": "听证结束"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["promised_deadline"], before["promised_deadline"], "no working day passed while paused");

    let r = act(&reviewer, &app, &case, json!({"action": "extend", "comment": "需现场核查"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only the head extends");
    let r = act(&head, &app, &case, json!({"action": "extend", "comment": "需现场核查"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["status"], "accepted", "an extension keeps the state");
    let calendar = tongban::app::calendar::load(&app.state.core).await.unwrap();
    let expected = calendar.add_working_days(app.clock.today(), 11).to_string();
    assert_eq!(v["promised_deadline"], expected.as_str(), "1 promised day + 10 days of extension");
    assert!(!actions(&get_case(&head, &app, &case).await).contains(&"extend".to_owned()));
    let r = act(&head, &app, &case, json!({"action": "extend", "comment": "再延"})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn queues_count_the_scope_and_show_overdue_cases() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (_, case) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.api().await;
    let list = body(reviewer.get(app.url("/api/v1/cases?queue=intake")).send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["number"] == case.as_str()));
    let total = list["total"].as_i64().unwrap();
    assert_eq!(total, list["items"].as_array().unwrap().len() as i64);

    // Another department does not see it; the leader sees everything.
    let other = app.a_reviewer("RSJ").await.api().await;
    let list = body(other.get(app.url("/api/v1/cases?queue=intake")).send().await.unwrap()).await;
    assert!(!list["items"].as_array().unwrap().iter().any(|c| c["number"] == case.as_str()));
    let r = other.get(app.url(&format!("/api/v1/cases/{case}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let leader = app.a_staff().with_role("leader").await.api().await;
    let list = body(leader.get(app.url("/api/v1/cases?queue=intake")).send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["number"] == case.as_str()));

    // Past its acceptance limit, the case is red and in the overdue queue.
    let overdue = |c: reqwest::Client| {
        let url = app.url("/api/v1/cases?queue=overdue");
        async move { body(c.get(url).send().await.unwrap()).await["items"].as_array().unwrap().clone() }
    };
    assert!(!overdue(reviewer.clone()).await.iter().any(|c| c["number"] == case.as_str()), "not overdue yet");
    let due = get_case(&reviewer, &app, &case).await["due_on"].as_str().unwrap().to_owned();
    app.move_to_day(Day::parse(&due).unwrap().succ());
    // Days later the reviewer's session has ended: a new one.
    let reviewer = office.reviewer.api().await;
    assert!(overdue(reviewer.clone()).await.iter().any(|c| c["number"] == case.as_str()));
    assert_eq!(get_case(&reviewer, &app, &case).await["warning"], "red");
    let r = reviewer.get(app.url("/api/v1/cases?queue=nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let citizen = office.citizen.api().await;
    assert_eq!(citizen.get(app.url("/api/v1/cases")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_office_pages_show_the_queue_the_case_and_only_the_allowed_actions() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (_, case) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.login().await;
    let html = app.get(&reviewer, "/office?queue=intake").await.text().await.unwrap();
    assert!(html.contains(&case) && html.contains("待受理"));
    let html = app.get(&reviewer, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains("一次性告知补正") && html.contains("受理") && !html.contains("准予许可"));
    let id_number = answers_for(&office.item.def, "")["id_number"].as_str().unwrap().to_owned();
    assert!(!html.contains(&id_number[..15]), "ID numbers are masked");
    let r = app
        .post_form(
            &reviewer,
            &format!("/office/cases/{case}"),
            &format!("/office/cases/{case}/actions"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get(&reviewer, &format!("/office/cases/{case}?done=accept")).await.text().await.unwrap();
    assert!(html.contains("审查中"));
    let r = app
        .post_form(
            &reviewer,
            &format!("/office/cases/{case}"),
            &format!("/office/cases/{case}/notes"),
            &[("comment", "请核对经营场所")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r =
        app.post_form(&reviewer, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/claim"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get(&reviewer, "/office?queue=mine").await.text().await.unwrap();
    assert!(html.contains(&case));
    // The applicant never sees internal remarks.
    let citizen = office.citizen.login().await;
    let application = body(
        office.reviewer.api().await.get(app.url(&format!("/api/v1/cases/{case}"))).send().await.unwrap(),
    )
    .await["application_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains("已受理") && !html.contains("请核对经营场所"));
}

#[tokio::test]
async fn workflows_are_versioned_and_cases_keep_theirs() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (_, before) = submit(&app, ITEM, &office.citizen).await;
    let catalog = app.a_staff().with_role("catalog_admin").await.api().await;
    let list = body(catalog.get(app.url("/api/v1/workflows")).send().await.unwrap()).await;
    let mut promised =
        list.as_array().unwrap().iter().find(|w| w["definition"]["code"] == "promised").unwrap()["definition"].clone();
    promised["states"][0]["label"] = json!("待受理（新版）");
    let r = catalog.post(app.url("/api/v1/workflows")).json(&promised).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(body(r).await["version"], 2);
    let mut broken = promised.clone();
    broken["actions"][0]["to"] = json!("nowhere");
    let r = catalog.post(app.url("/api/v1/workflows")).json(&broken).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reviewer = office.reviewer.api().await;
    assert_eq!(reviewer.get(app.url("/api/v1/workflows")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Another promised item of the department, applied for after the new version.
    let other = app.an_item().in_department("SCJGJ").with_workflow("promised").await;
    let (_, after) = submit(&app, &other.code, &office.citizen).await;
    assert_eq!(get_case(&reviewer, &app, &before).await["workflow_version"], 1);
    let v = get_case(&reviewer, &app, &after).await;
    assert_eq!(v["workflow_version"], 2);
    assert_eq!(v["status_label"], "待受理（新版）");
}

/// Random walks of actions on real cases keep every state legal and the queue counters equal to
/// a recount of the cases.
#[tokio::test]
async fn random_action_walks_keep_states_legal_and_counts_true() {
    use rand::Rng;
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let reviewer = office.reviewer.api().await;
    let head = office.head.api().await;
    let all = [
        "accept",
        "refuse",
        "request_supplement",
        "examine",
        "suspend",
        "resume",
        "extend",
        "approve",
        "deny",
        "deliver",
        "fly",
    ];
    let full =
        json!({"comment": "意见", "legal_basis": "依据", "materials": ["M01"], "delivery": {"method": "download"}});
    let mut cases = Vec::new();
    for _ in 0..4 {
        cases.push(submit(&app, ITEM, &office.citizen).await.1);
    }
    let states: Vec<String> = tongban::domain::workflow::SHIPPED
        .iter()
        .flat_map(|j| serde_json::from_str::<Value>(j).unwrap()["states"].as_array().unwrap().clone())
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    for _ in 0..40 {
        let (case, action, who) = {
            let mut rng = rand::rng();
            (cases[rng.random_range(0..cases.len())].clone(), all[rng.random_range(0..all.len())], rng.random_bool(0.5))
        };
        let mut request = full.clone();
        request["action"] = json!(action);
        let r = act(if who { &reviewer } else { &head }, &app, &case, request).await;
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT, StatusCode::FORBIDDEN, StatusCode::UNPROCESSABLE_ENTITY]
                .contains(&r.status()),
            "{action}: {}",
            r.status()
        );
        let status = get_case(&reviewer, &app, &case).await["status"].as_str().unwrap().to_owned();
        assert!(states.contains(&status), "{status}");
    }
    use sqlx::Row;
    let pool = app.state.core.db.pool();
    let recount = sqlx::query("SELECT queue, COUNT(*) AS n FROM cases GROUP BY queue ORDER BY queue")
        .fetch_all(pool)
        .await
        .unwrap();
    let kept = sqlx::query(
        "SELECT queue, CAST(SUM(n) AS BIGINT) AS n FROM case_counts GROUP BY queue HAVING SUM(n) <> 0 ORDER BY queue",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let pairs = |rows: &[sqlx::any::AnyRow]| -> Vec<(String, i64)> {
        rows.iter().map(|r| (r.get("queue"), r.get("n"))).collect()
    };
    assert_eq!(pairs(&recount), pairs(&kept));
}

#[tokio::test]
async fn a_community_window_takes_a_citywide_application_for_the_owning_department() {
    let app = TestApp::spawn().await;
    app.a_department("RSJ", "区人力资源社会保障局").await;
    app.a_department("SCJGJ", "区市场监管局").await;
    app.a_site("xinzhuang", "莘庄镇社区事务受理服务中心").await;
    // 失业保险金申领: 区人社局, citywide.
    let def = app.an_item().named("失业保险金申领").in_department("RSJ").citywide().await.def;
    let item = def.code.as_str();
    let person = app.a_citizen().named("张三").await;
    let window_account = app.a_staff().at_site("xinzhuang").with_role("window").await;
    let window = window_account.login().await;
    let html = app.get(&window, "/hall").await.text().await.unwrap();
    assert!(html.contains(item), "the hall offers citywide items");
    // An unregistered or malformed ID number gets a clear answer.
    let r =
        app.post_form(&window, "/hall", "/hall/intake", &[("item", item), ("id_number", "310112198503121239")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id_number = person.id_number.clone().unwrap();
    let r = app.post_form(&window, "/hall", "/hall/intake", &[("item", item), ("id_number", &id_number)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let masked = tongban::domain::mask::id_number(&id_number);
    assert!(html.contains("帮办收件") && html.contains("张三") && html.contains(&masked), "who the window is helping");
    let token = crate::common::csrf_in(&html).unwrap();
    let answers = answers_for(&def, "张三");
    let seal = hidden_value(&html, "applicant");
    let mut form = page_form(&answers).text("applicant", seal);
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), pdf(&m.code));
    }
    let r = window
        .post(app.url(&format!("/hall/intake/{item}")))
        .header("x-csrf-token", token.as_str())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let number = crate::common::location(&r).split("taken=").nth(1).unwrap().to_owned();

    // It belongs to the citizen, came in at 莘庄, and waits in 区人社局's queue.
    let citizen = person.api().await;
    let r = citizen.get(app.url(&format!("/api/v1/applications/{number}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let case = case_of(&app, &number).await;
    let rsj = app.a_reviewer("RSJ").await.api().await;
    let v = get_case(&rsj, &app, &case).await;
    assert_eq!(v["site"], "莘庄镇社区事务受理服务中心");
    assert_eq!(v["department"], "区人力资源社会保障局");
    let list = body(rsj.get(app.url("/api/v1/cases?queue=intake")).send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["number"] == case.as_str()));
    // The window sees its site's cases; 市场监管局 does not see this one.
    let w = window_account.api().await;
    let list = body(w.get(app.url("/api/v1/cases?queue=intake")).send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["number"] == case.as_str()));
    let other = app.a_reviewer("SCJGJ").await.api().await;
    assert_eq!(
        other.get(app.url(&format!("/api/v1/cases/{case}"))).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.audit_rows("application.submit").await[0].0,
        window_account.username,
        "the window's staff is audited"
    );
}

#[tokio::test]
async fn a_bundle_is_one_form_one_set_of_materials_and_one_case_per_item() {
    let app = TestApp::spawn().await;
    // 新生儿出生: 卫健, 公安 and 医保 items that share the birth certificate, the household register,
    // the ID card; one of them a 即办件.
    let shared = |code: &str, name: &str| a_material(code, name);
    let items = [
        app.an_item()
            .named("出生医学证明办理")
            .in_department("WJW")
            .with_materials(vec![shared("M01", "父母居民身份证")])
            .await,
        app.an_item()
            .named("新生儿户口登记")
            .in_department("GAFJ")
            .with_materials(vec![
                shared("M01", "出生医学证明"),
                shared("M02", "居民户口簿"),
                shared("M03", "父母居民身份证"),
            ])
            .await,
        app.an_item()
            .named("新生儿医保参保登记")
            .in_department("YBJ")
            .immediate()
            .with_materials(vec![shared("M01", "出生医学证明"), shared("M02", "居民户口簿")])
            .await,
    ];
    app.a_life_event("newborn", "新生儿出生", &items.iter().collect::<Vec<_>>()).await;
    let person = app.a_citizen().named("张三").await;
    let leader_account = app.a_staff().with_role("leader").await;
    let citizen = person.login().await;
    let html = app.get(&citizen, "/events/newborn").await.text().await.unwrap();
    assert!(html.contains("/events/newborn/apply"));
    let html = app.get(&citizen, "/events/newborn/apply").await.text().await.unwrap();
    assert!(html.contains("一件事一次办") && html.contains("新生儿出生"));
    let token = crate::common::csrf_in(&html).unwrap();
    let b = tongban::app::bundles::bundle(&app.state.core, &app.actor(&person).await, "newborn").await.unwrap();
    assert!(b.guides.len() >= 2);
    assert!(b.groups.iter().any(|(_, members)| members.len() > 1), "a shared material is uploaded once");
    let url = app.url("/events/newborn/apply");

    // Nothing filled in: every problem at once, nothing written.
    let r = citizen
        .post(&url)
        .header("x-csrf-token", token.as_str())
        .multipart(Form::new().text("action", "submit"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mut form = page_form(&answers_for(&b.combined, "张三"));
    for m in b.combined.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), pdf(&m.code));
    }
    let r = citizen.post(&url).header("x-csrf-token", token.as_str()).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let location = crate::common::location(&r);
    let number = location.trim_start_matches("/my/applications/").split('?').next().unwrap().to_owned();

    use sqlx::Row;
    let cases: Vec<String> = sqlx::query(
        "SELECT c.number FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.number = $1 ORDER BY c.id",
    )
    .bind(&number)
    .fetch_all(app.state.core.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("number"))
    .collect();
    assert_eq!(cases.len(), b.guides.len(), "one case per item");
    let api = person.api().await;
    let status = |api: reqwest::Client| {
        let url = app.url(&format!("/api/v1/applications/{number}"));
        async move { body(api.get(url).send().await.unwrap()).await["status"].as_str().unwrap().to_owned() }
    };
    assert_eq!(status(api.clone()).await, "processing");

    // Each case shows the shared materials under its own item's codes.
    let leader = leader_account.login().await;
    for (case, g) in cases.iter().zip(&b.guides) {
        let html = app.get(&leader, &format!("/office/cases/{case}")).await.text().await.unwrap();
        assert!(html.contains(&g.def.name), "{case}");
        for m in g.def.materials.iter().filter(|m| m.required) {
            let files = sqlx::query("SELECT COUNT(*) AS n FROM application_materials am JOIN applications a ON a.id = am.application_id WHERE a.number = $1 AND am.material_code = $2")
                .bind(&number)
                .bind(format!("{}:{}", g.def.code, m.code))
                .fetch_one(app.state.core.db.pool())
                .await
                .unwrap()
                .get::<i64, _>("n");
            assert_eq!(files, 1, "{} {}", g.def.code, m.code);
        }
    }
    let page = app.get(&citizen, &format!("/my/applications/{number}")).await.text().await.unwrap();
    assert!(page.contains("各部门办理情况"));

    // The application concludes when, and only when, every case has.
    let mut all = app.actor(&leader_account).await;
    all.permissions = tongban::domain::permission::Permission::ALL.iter().copied().collect();
    // A role's scope reaches only its own permissions: the leader's district-wide role holds them all.
    for role in &mut all.roles {
        role.permissions = all.permissions.clone();
    }
    for (i, case) in cases.iter().enumerate() {
        for action in ["accept", "examine", "approve", "deliver"] {
            let mut input = tongban::app::cases::ActionInput::new(action);
            input.comment = "同意".into();
            input.delivery = Some(tongban::domain::case::Delivery::Download);
            match tongban::app::cases::act(&app.state.core, &all, case, &input).await {
                // 即办件 has no separate acceptance or examination.
                Ok(_) | Err(tongban::app::AppError::Conflict(_)) => {}
                Err(tongban::app::AppError::Invalid(p)) if p[0].code == "unknown_action" => {}
                Err(e) => panic!("{action} on {case}: {e:?}"),
            }
        }
        let v =
            body(leader_account.api().await.get(app.url(&format!("/api/v1/cases/{case}"))).send().await.unwrap()).await;
        assert_eq!(v["status"], "delivered", "{case}");
        let expected = if i + 1 == cases.len() { "concluded" } else { "processing" };
        assert_eq!(status(api.clone()).await, expected, "after case {i}");
    }
}

#[tokio::test]
async fn an_item_naming_an_unknown_workflow_is_not_published() {
    let app = TestApp::spawn().await;
    let mut def = office(&app).await.item.def;
    def.workflow = Some("nope".into());
    let mut tx = app.state.core.db.begin().await.unwrap();
    let r = tongban::app::catalogue::publish_in(&mut tx, &app.state.core.clock, &tongban::app::Actor::console(), &def)
        .await;
    match r {
        Err(tongban::app::AppError::Invalid(p)) => assert!(p.iter().any(|e| e.field == "workflow"), "{p:?}"),
        other => panic!("{other:?}"),
    }
    def.workflow = Some("immediate".into());
    assert!(
        tongban::app::catalogue::publish_in(&mut tx, &app.state.core.clock, &tongban::app::Actor::console(), &def)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn deadline_warnings_reach_the_handler_and_the_head_once_a_day() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let other_head = app.a_head("RSJ").await;
    let (_, late) = submit(&app, ITEM, &office.citizen).await;
    let (_, soon) = submit(&app, ITEM, &office.citizen).await;
    let reviewer = office.reviewer.api().await;
    assert_eq!(act(&reviewer, &app, &late, json!({"action": "accept"})).await.status(), StatusCode::OK);
    let claim = app
        .post_form(
            &office.reviewer.login().await,
            &format!("/office/cases/{late}"),
            &format!("/office/cases/{late}/claim"),
            &[],
        )
        .await;
    assert_eq!(claim.status(), StatusCode::SEE_OTHER);
    // Three working days later the other case is accepted; on its promised day (one working day
    // on) it is due today and the first case, promised for the day after its acceptance, is three
    // working days late.
    let calendar = tongban::app::calendar::load(&app.state.core).await.unwrap();
    app.move_to_day(calendar.add_working_days(app.clock.today(), 3));
    let reviewer = office.reviewer.api().await;
    assert_eq!(act(&reviewer, &app, &soon, json!({"action": "accept"})).await.status(), StatusCode::OK);
    app.move_to_day(calendar.add_working_days(app.clock.today(), 1));
    let reviewer = office.reviewer.api().await;
    assert_eq!(get_case(&reviewer, &app, &soon).await["warning"], "yellow");
    assert_eq!(get_case(&reviewer, &app, &late).await["warning"], "red");
    let core = &app.state.core;
    let scan = || async {
        let mut tx = core.db.begin().await.unwrap();
        tongban::app::jobs::enqueue_in(&mut tx, &core.clock, tongban::app::deadlines::SCAN_JOB, &json!({}), 0, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        while tongban::app::jobs::run_pending(core, "test").await.unwrap() > 0 {}
    };
    scan().await;
    scan().await;
    // (Only the messages about these two cases count.)
    let head = titles_about(&office.head, &[&late, &soon]).await;
    assert_eq!(head.iter().filter(|t| t.starts_with("超期督办")).count(), 1, "once, though scanned twice: {head:?}");
    assert_eq!(head.iter().filter(|t| t.starts_with("即将超期")).count(), 1, "{head:?}");
    let handler = titles_about(&office.reviewer, &[&late, &soon]).await;
    assert_eq!(
        handler.iter().filter(|t| t.starts_with("超期督办")).count(),
        1,
        "the handler of the late case: {handler:?}"
    );
    assert!(!handler.iter().any(|t| t.starts_with("即将超期")), "nobody handles the other case yet");
    assert!(
        titles_about(&other_head, &[&late, &soon]).await.iter().all(|t| !t.starts_with("超期督办")),
        "another department hears nothing"
    );
}

/// The titles of `who`'s messages that link to one of `cases`.
async fn titles_about(who: &Account, cases: &[&str]) -> Vec<String> {
    let links: Vec<String> = cases.iter().map(|c| format!("/office/cases/{c}")).collect();
    let c = who.api().await;
    body(c.get(who.url("/api/v1/messages?page_size=100")).send().await.unwrap()).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| links.iter().any(|l| m["link"] == l.as_str()))
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn message_titles(who: &Account) -> Vec<String> {
    let c = who.api().await;
    body(c.get(who.url("/api/v1/messages?page_size=100")).send().await.unwrap()).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_approval_issues_the_licence_in_the_same_transaction() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let case = app.a_case().for_item(&office.item).by(&office.citizen).in_state(Examined).await.number;
    let head = office.head.api().await;
    let citizen = office.citizen.api().await;
    let wallet = |c: reqwest::Client| {
        let url = app.url("/api/v1/licences");
        async move { body(c.get(url).send().await.unwrap()).await["items"].as_array().unwrap().clone() }
    };
    let before = wallet(citizen.clone()).await.len();

    // Approval issues 个体工商户营业执照 from the form's answers, signed, into the wallet.
    let r = act(&head, &app, &case, json!({"action": "approve", "comment": "同意"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let items = wallet(citizen.clone()).await;
    assert_eq!(items.len(), before + 1);
    let licence =
        items.iter().find(|l| l["licence_type"] == "INDIVIDUAL_BUSINESS_LICENCE" && l["valid"] == true).unwrap();
    let id = licence["identifier"].as_str().unwrap().to_owned();
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{id}/verification"))).send().await.unwrap()).await;
    assert_eq!(v["valid"], true);
    let html = app.get(&office.head.login().await, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains(&id), "the case page links the issued licence");
    let titles = message_titles(&office.citizen).await;
    assert!(titles.iter().any(|t| t.starts_with("电子证照已签发")), "{titles:?}");

    // Revoked by the issuing department's head: verification says so at once.
    let r = head
        .post(app.url(&format!("/api/v1/licences/{id}/revoke")))
        .json(&json!({"reason": "以欺骗手段取得"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{id}/verification"))).send().await.unwrap()).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["status"], "revoked");
}

#[tokio::test]
async fn an_approval_without_the_licence_facts_changes_nothing() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let licence = app
        .a_licence_type("FOOD_LICENCE")
        .named("食品经营许可证")
        .for_organisations()
        .face("holder_name|经营者名称|必填\nbusiness_address|经营场所|必填\nbusiness_items|经营项目|必填")
        .valid_for("years:5")
        .await;
    // 食品经营许可（新办） produces 食品经营许可证, whose face needs 经营项目 the form does not ask.
    let item = app.an_item().named("食品经营许可（新办）").for_organisations().issuing(&licence).await;
    assert_eq!(item.def.licence_type.as_deref(), Some("FOOD_LICENCE"));
    let business = app.an_organisation().named("上海闵味餐饮管理有限公司").await;
    let case = app.a_case().for_item(&item).by(&business).in_state(Examined).await.number;
    let head = office.head.api().await;
    let r = act(&head, &app, &case, json!({"action": "approve"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let details = body(r).await["details"].to_string();
    assert!(details.contains("face."), "names the missing licence facts: {details}");
    assert_eq!(get_case(&head, &app, &case).await["status"], "examined", "the decision rolled back with the licence");
    let r = act(
        &head,
        &app,
        &case,
        json!({"action": "approve", "fields": {"business_address": "上海市闵行区七宝镇示例路 8 号", "business_items": "热食类食品制售"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The answers as a page's form posts them (`f.<field>`), with the submit button pressed.
/// The value of a hidden field of a page's form.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub fn page_form(answers: &serde_json::Map<String, Value>) -> Form {
    let mut form = Form::new().text("action", "submit");
    for (k, v) in answers {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "on".into(),
            Value::Bool(false) => String::new(),
            other => other.to_string(),
        };
        form = form.text(format!("f.{k}"), text);
    }
    form
}
