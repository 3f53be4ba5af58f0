//! Test builders: each test states only what it needs, and the defaults make the rest valid.
//!
//! ```ignore
//! let citizen = app.a_citizen().named("张三").await;
//! let reviewer = app.a_staff().in_department("SCJGJ").with_role("reviewer").await;
//! let item = app.an_item().in_department("SCJGJ").citywide().await;
//! let case = app.a_case().for_item(&item).by(&citizen).in_state(Accepted).await;
//! let client = citizen.login().await;
//! ```
//!
//! Everything goes in through the use cases (`tongban::app`) or, where the platform has none
//! (departments, sites, accounts with a known password), through the store — never raw SQL.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;

use reqwest::{Client, StatusCode};
use serde_json::{Map, Value};
use tongban::app::{self, Actor};
use tongban::domain::identity::{credit_code_with_check, id_number_with_check};
use tongban::domain::item::{
    CaseKind, Field, FieldType, FormSchema, ItemDefinition, Material, MaterialForm, Sites, Subject,
};
use tongban::store::users::{NewUser, UserKind};
use tongban::store::{org, roles, users};

use crate::common::{PASSWORD, TestApp};

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A small valid PDF, standing in for a scanned document.
pub const TEST_PDF: &[u8] = b"%PDF-1.4\n%test\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// The department items and staff belong to when a test does not say.
pub const DEPARTMENT: &str = "SCJGJ";

/// Valid answers for every field of an item's form; text fields that hold a name get `name`.
pub fn answers_for(def: &ItemDefinition, name: &str) -> Map<String, Value> {
    let sample = |kind: FieldType, field: &str, options: &[String]| -> Value {
        let text = match kind {
            FieldType::IdNumber => id_number_with_check("31011219900101002").unwrap(),
            FieldType::Phone => "13912345678".into(),
            FieldType::CreditCode => credit_code_with_check("91310112MA1GTEST0").unwrap(),
            FieldType::Email => "applicant@example.com".into(),
            FieldType::Date => "2026-11-20".into(),
            FieldType::Number => "1".into(),
            FieldType::Select => options.first().cloned().unwrap_or_default(),
            FieldType::Checkbox => return Value::Bool(true),
            FieldType::Address => "闵行区测试路 1 号".into(),
            _ if field.contains("name") => name.into(),
            _ => "测试内容".into(),
        };
        Value::String(text)
    };
    let mut out = Map::new();
    for f in &def.form.fields {
        let v = if f.kind == FieldType::Table {
            let row: Map<String, Value> =
                f.columns.iter().map(|c| (c.name.clone(), sample(c.kind, &c.name, &[]))).collect();
            Value::Array(vec![Value::Object(row)])
        } else {
            sample(f.kind, &f.name, &f.options)
        };
        out.insert(f.name.clone(), v);
    }
    out
}

/// A material of the default shape: required, one original, PDF or image, up to 5 MB.
pub fn a_material(code: &str, name: &str) -> Material {
    Material {
        code: code.into(),
        name: name.into(),
        required: true,
        form: MaterialForm::Original,
        count: 1,
        notes: String::new(),
        licence_type: None,
        accept: vec!["application/pdf".into(), "image/jpeg".into(), "image/png".into()],
        max_bytes: 5 * 1024 * 1024,
    }
}

/// A form field of `kind`, required.
pub fn a_field(name: &str, label: &str, kind: FieldType) -> Field {
    Field {
        name: name.into(),
        label: label.into(),
        kind,
        required: true,
        hint: String::new(),
        options: Vec::new(),
        columns: Vec::new(),
        show_if: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Accounts

/// An account made by a builder: its name, and a way in.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// The person's ID number (persons only).
    pub id_number: Option<String>,
    pub phone: Option<String>,
    base: String,
}

impl Account {
    /// A URL on the server the account lives on.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client logged in through the login page, as a person would.
    pub async fn login(&self) -> Client {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let html = client.get(format!("{}/login", self.base)).send().await.unwrap().text().await.unwrap();
        let token = crate::common::csrf_in(&html).expect("csrf token on /login");
        let r = client
            .post(format!("{}/login", self.base))
            .form(&[("csrf_token", token.as_str()), ("username", &self.username), ("password", &self.password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {} failed", self.username);
        client
    }

    /// A client logged in through the API.
    pub async fn api(&self) -> Client {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({ "username": self.username, "password": self.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "API login of {} failed", self.username);
        client
    }
}

/// Builds an account of any kind: `app.a_citizen()`, `app.an_organisation()`, `app.a_staff()`.
pub struct AccountBuilder<'a> {
    app: &'a TestApp,
    kind: UserKind,
    username: Option<String>,
    name: Option<String>,
    department: Option<String>,
    site: Option<String>,
    roles: Vec<String>,
    id_number: Option<String>,
}

impl<'a> AccountBuilder<'a> {
    fn new(app: &'a TestApp, kind: UserKind) -> Self {
        AccountBuilder {
            app,
            kind,
            username: None,
            name: None,
            department: None,
            site: None,
            roles: Vec::new(),
            id_number: None,
        }
    }

    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The person's (or organisation's) display name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Staff of a department (made when missing).
    pub fn in_department(mut self, code: &str) -> Self {
        self.department = Some(code.into());
        self
    }

    /// Staff at a service hall (made when missing).
    pub fn at_site(mut self, code: &str) -> Self {
        self.site = Some(code.into());
        self
    }

    /// A role, in its built-in scope.
    pub fn with_role(mut self, code: &str) -> Self {
        self.roles.push(code.into());
        self
    }

    /// The person's ID number (by default a new valid one).
    pub fn with_id_number(mut self, id_number: &str) -> Self {
        self.id_number = Some(id_number.into());
        self
    }

    async fn build(self) -> Account {
        let app = self.app;
        let n = app.next();
        let core = &app.state.core;
        let (prefix, default_name, default_role) = match self.kind {
            UserKind::Person => ("person", format!("测试市民{n}"), Some("citizen")),
            UserKind::Organisation => ("org", format!("测试企业{n}有限公司"), Some("business")),
            UserKind::Staff => ("staff", format!("测试职员{n}"), None),
        };
        let username = self.username.unwrap_or_else(|| format!("{prefix}{n:03}"));
        let name = self.name.unwrap_or(default_name);
        let department_id = match &self.department {
            Some(code) => Some(app.ensure_department(code).await),
            None => None,
        };
        let site_id = match &self.site {
            Some(code) => Some(app.ensure_site(code).await),
            None => None,
        };
        let id_number = (self.kind == UserKind::Person).then(|| {
            self.id_number
                .clone()
                .unwrap_or_else(|| id_number_with_check(&format!("31011219850101{:03}", n % 1000)).unwrap())
        });
        let credit_code = (self.kind == UserKind::Organisation)
            .then(|| credit_code_with_check(&format!("91310112MA1G{:05}", n % 100_000)).unwrap());
        let phone = (self.kind != UserKind::Staff).then(|| format!("138{n:08}"));
        let mut roles = self.roles;
        if roles.is_empty()
            && let Some(role) = default_role
        {
            roles.push(role.into());
        }
        // Each role in its built-in scope.
        let roles: Vec<(String, String)> = roles
            .into_iter()
            .map(|code| {
                let scope = tongban::domain::role::builtin(&code).map_or("own", |r| r.scope.name());
                (code.clone(), scope.to_owned())
            })
            .collect();
        let hash = password_hash().await;
        let mut tx = core.db.begin().await.unwrap();
        let new = NewUser {
            username: &username,
            display_name: &name,
            kind: self.kind,
            department_id,
            site_id,
            password_hash: &hash,
            must_change_password: false,
            id_number_enc: id_number.as_ref().map(|id| core.cipher.encrypt(id)),
            id_number_digest: id_number.as_ref().map(|id| core.cipher.index(id)),
            phone_enc: phone.as_ref().map(|p| core.cipher.encrypt(p)),
            credit_code: credit_code.as_deref(),
            contact_name: (self.kind == UserKind::Organisation).then_some("测试联系人"),
            now: core.clock.now_ms(),
        };
        let id = users::insert(&mut tx, &new).await.unwrap();
        roles::set_user_roles(&mut tx, id, &roles).await.unwrap();
        tx.commit().await.unwrap();
        Account {
            id,
            username,
            display_name: name,
            password: PASSWORD.into(),
            id_number,
            phone,
            base: app.base.clone(),
        }
    }
}

impl<'a> IntoFuture for AccountBuilder<'a> {
    type Output = Account;
    type IntoFuture = Boxed<'a, Account>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

/// Every builder account's password hash, computed once (hashing is slow on purpose).
async fn password_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async { app::passwords::hash(PASSWORD.to_owned()).await.unwrap() }).await.clone()
}

// ---------------------------------------------------------------------------------------------
// Items

/// A published item made by a builder.
#[derive(Debug, Clone)]
pub struct Item {
    pub code: String,
    pub def: ItemDefinition,
}

pub struct ItemBuilder<'a> {
    app: &'a TestApp,
    def: ItemDefinition,
}

impl<'a> ItemBuilder<'a> {
    pub fn code(mut self, code: &str) -> Self {
        self.def.code = code.into();
        self
    }

    pub fn named(mut self, name: &str) -> Self {
        self.def.name = name.into();
        self
    }

    /// Implemented by a department (made when missing); by default [`DEPARTMENT`].
    pub fn in_department(mut self, code: &str) -> Self {
        self.def.department = code.into();
        self
    }

    /// Handled at every hall of the city (全市通办).
    pub fn citywide(mut self) -> Self {
        self.def.citywide = true;
        self
    }

    /// For organisations only (by default: for persons).
    pub fn for_organisations(mut self) -> Self {
        self.def.subjects = vec![Subject::Organisation];
        self
    }

    /// Cases follow this workflow (by default: the one of the case kind, `promised`).
    pub fn with_workflow(mut self, code: &str) -> Self {
        self.def.workflow = Some(code.into());
        self
    }

    /// A 即办件 (decided on the spot).
    pub fn immediate(mut self) -> Self {
        self.def.case_kind = CaseKind::Immediate;
        self.def.promised_days = 0;
        self
    }

    /// Promised and legal time limits, in working days.
    pub fn days(mut self, promised: u32, legal: u32) -> Self {
        self.def.promised_days = promised;
        self.def.legal_days = legal;
        self
    }

    /// Replaces the default material (one required M01).
    pub fn with_materials(mut self, materials: Vec<Material>) -> Self {
        self.def.materials = materials;
        self
    }

    /// Replaces the default form (name, ID number, phone).
    pub fn with_fields(mut self, fields: Vec<Field>) -> Self {
        self.def.form = FormSchema { fields };
        self
    }

    /// An approved case produces this licence type.
    pub fn issuing(mut self, licence_type: &str) -> Self {
        self.def.licence_type = Some(licence_type.into());
        self
    }

    /// Any other change to the definition.
    pub fn with(mut self, change: impl FnOnce(&mut ItemDefinition)) -> Self {
        change(&mut self.def);
        self
    }

    async fn build(self) -> Item {
        let app = self.app;
        app.ensure_department(&self.def.department).await;
        app::catalogue::publish(&app.state.core, &Actor::console(), &self.def).await.expect("publish the test item");
        Item { code: self.def.code.clone(), def: self.def }
    }
}

impl<'a> IntoFuture for ItemBuilder<'a> {
    type Output = Item;
    type IntoFuture = Boxed<'a, Item>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

/// The default item: a fully online 承诺件 for persons, at every hall, one required PDF material
/// and a form of name, ID number and phone.
fn default_item(n: u64) -> ItemDefinition {
    ItemDefinition {
        code: format!("310112-TEST-{n:03}"),
        name: format!("测试事项{n}"),
        item_type: "行政许可".into(),
        department: DEPARTMENT.into(),
        subjects: vec![Subject::Person],
        legal_days: 20,
        promised_days: 5,
        case_kind: CaseKind::Promised,
        visits_required: 0,
        fully_online: true,
        citywide: false,
        sites: Sites::All("all".into()),
        fee: None,
        legal_basis: vec!["《测试条例》".into()],
        conditions: vec!["符合条件的申请人".into()],
        process: vec!["网上申请".into(), "受理".into(), "审查".into(), "决定".into(), "送达".into()],
        consult_phone: "12345".into(),
        complaint_phone: "12345".into(),
        faq: Vec::new(),
        keywords: Vec::new(),
        materials: vec![a_material("M01", "身份证明")],
        form: FormSchema {
            fields: vec![
                a_field("applicant_name", "申请人姓名", FieldType::Text),
                a_field("id_number", "身份证号", FieldType::IdNumber),
                a_field("phone", "联系电话", FieldType::Phone),
            ],
        },
        life_events: Vec::new(),
        workflow: None,
        licence_type: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Licence types

pub struct LicenceTypeBuilder<'a> {
    app: &'a TestApp,
    form: app::licences::TypeForm,
}

impl<'a> LicenceTypeBuilder<'a> {
    pub fn named(mut self, name: &str) -> Self {
        self.form.name = name.into();
        self
    }

    /// Issued by this department (made when missing).
    pub fn in_department(mut self, code: &str) -> Self {
        self.form.department = code.into();
        self
    }

    /// Held by organisations (by default: persons).
    pub fn for_organisations(mut self) -> Self {
        self.form.holder_kind = "organisation".into();
        self
    }

    /// The face fields, one `字段名|标签|必填` a line.
    pub fn face(mut self, lines: &str) -> Self {
        self.form.face_fields = lines.into();
        self
    }

    /// The type's code in the national catalogue (the licence identifiers carry it).
    pub fn catalog_code(mut self, code: &str) -> Self {
        self.form.catalog_code = code.into();
        self
    }

    /// `permanent` or `years:N`.
    pub fn valid_for(mut self, validity: &str) -> Self {
        self.form.validity = validity.into();
        self
    }

    async fn build(self) -> String {
        self.app.ensure_department(&self.form.department).await;
        app::licences::save_type(&self.app.state.core, &Actor::console(), &self.form, false)
            .await
            .unwrap_or_else(|e| panic!("licence type {}: {e:?}", self.form.code));
        self.form.code
    }
}

impl<'a> IntoFuture for LicenceTypeBuilder<'a> {
    type Output = String;
    type IntoFuture = Boxed<'a, String>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

/// Builds a licence issued by hand (through the administrators' use case): `app.a_licence(type)`.
pub struct LicenceBuilder<'a> {
    app: &'a TestApp,
    licence_type: String,
    holder: Option<String>,
    face: Map<String, Value>,
    revoked: Option<String>,
}

impl<'a> LicenceBuilder<'a> {
    /// Held by this account (required).
    pub fn held_by(mut self, holder: &Account) -> Self {
        self.holder = Some(holder.username.clone());
        self
    }

    /// Face data (the holder's name is filled in by the platform).
    pub fn with_face(mut self, pairs: &[(&str, &str)]) -> Self {
        self.face.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))));
        self
    }

    /// Then revoked by the head of the issuing department, for `reason`.
    pub fn revoked(mut self, reason: &str) -> Self {
        self.revoked = Some(reason.into());
        self
    }

    async fn build(self) -> String {
        let core = &self.app.state.core;
        let console = Actor::console();
        let req = app::licences::HandIssue {
            licence_type: self.licence_type.clone(),
            holder: self.holder.expect("a licence needs a holder: .held_by(..)"),
            face: self.face,
            valid_from: None,
        };
        let issued = app::licences::issue_by_hand(core, &console, &req)
            .await
            .unwrap_or_else(|e| panic!("licence {}: {e:?}", self.licence_type));
        if let Some(reason) = self.revoked {
            let ty = app::licences::type_for_admin(core, &console, &self.licence_type).await.unwrap();
            let head = Actor { department: Some(ty.row.department), ..console };
            app::licences::change_status(core, &head, &issued.identifier, app::licences::Lifecycle::Revoke, &reason)
                .await
                .unwrap();
        }
        issued.identifier
    }
}

impl<'a> IntoFuture for LicenceBuilder<'a> {
    type Output = String;
    type IntoFuture = Boxed<'a, String>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

// ---------------------------------------------------------------------------------------------
// Applications and cases

/// A submitted application and its case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The application's number (the applicant's).
    pub application: String,
    /// The case's number (the office's).
    pub number: String,
    pub item: Item,
}

/// Where [`CaseBuilder::in_state`] takes a case: the states of the shipped workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Submitted,
    SupplementRequested,
    Accepted,
    Examined,
    Suspended,
    Approved,
    Delivered,
    Refused,
    Denied,
    Withdrawn,
}

pub struct CaseBuilder<'a> {
    app: &'a TestApp,
    item: Option<Item>,
    applicant: Option<Account>,
    state: CaseState,
}

impl<'a> CaseBuilder<'a> {
    /// For this item (by default: a new default item).
    pub fn for_item(mut self, item: &Item) -> Self {
        self.item = Some(item.clone());
        self
    }

    /// Applied for by this account (by default: a new citizen).
    pub fn by(mut self, applicant: &Account) -> Self {
        self.applicant = Some(applicant.clone());
        self
    }

    /// Driven through the real workflow to this state (by default: submitted).
    pub fn in_state(mut self, state: CaseState) -> Self {
        self.state = state;
        self
    }

    async fn build(self) -> Case {
        let app = self.app;
        let item = match self.item {
            Some(item) => item,
            None => app.an_item().await,
        };
        let applicant = match self.applicant {
            Some(a) => a,
            None => app.a_citizen().await,
        };
        let core = &app.state.core;
        let actor = app.actor(&applicant).await;
        let uploads = item
            .def
            .materials
            .iter()
            .filter(|m| m.required)
            .map(|m| app::applications::Upload {
                material_code: m.code.clone(),
                file_name: format!("{}.pdf", m.code),
                bytes: axum::body::Bytes::from_static(TEST_PDF),
            })
            .collect();
        let input = app::applications::Input {
            values: answers_for(&item.def, &applicant.display_name),
            uploads,
            idempotency_key: None,
            licences: Vec::new(),
        };
        let saved =
            app::applications::save(core, &actor, &item.code, input, true, false).await.expect("submit the test case");
        let number = app.case_number_of(&saved.number).await;
        let case = Case { application: saved.number, number, item };
        let immediate = case.item.def.workflow_code() == "immediate";
        let path: &[&str] = match (self.state, immediate) {
            (CaseState::Submitted, _) => &[],
            (CaseState::SupplementRequested, _) => &["request_supplement"],
            (CaseState::Refused, _) => &["refuse"],
            (CaseState::Withdrawn, _) => &["withdraw"],
            (CaseState::Approved, true) => &["approve"],
            (CaseState::Delivered, true) => &["approve", "deliver"],
            (CaseState::Accepted, false) => &["accept"],
            (CaseState::Suspended, false) => &["accept", "suspend"],
            (CaseState::Examined, false) => &["accept", "examine"],
            (CaseState::Approved, false) => &["accept", "examine", "approve"],
            (CaseState::Denied, false) => &["accept", "examine", "deny"],
            (CaseState::Delivered, false) => &["accept", "examine", "approve", "deliver"],
            (state, true) => panic!("a 即办件 has no state {state:?}"),
        };
        for action in path {
            let mut input = app::cases::ActionInput::new(action);
            input.comment = "测试意见".into();
            input.legal_basis = "《测试条例》第一条".into();
            input.materials = case.item.def.materials.iter().take(1).map(|m| m.code.clone()).collect();
            input.delivery = Some(tongban::domain::case::Delivery::Download);
            if *action == "withdraw" {
                app::applications::withdraw(core, &actor, &case.application).await.expect("withdraw the test case");
                continue;
            }
            let by = app.handler_for(&case.item.def.department, action).await;
            app::cases::act(core, &by, &case.number, &input).await.unwrap_or_else(|e| panic!("{action}: {e:?}"));
        }
        case
    }
}

impl<'a> IntoFuture for CaseBuilder<'a> {
    type Output = Case;
    type IntoFuture = Boxed<'a, Case>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

// ---------------------------------------------------------------------------------------------
// The entry points

impl TestApp {
    pub(crate) fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A person (自然人) with the citizen role.
    pub fn a_citizen(&self) -> AccountBuilder<'_> {
        AccountBuilder::new(self, UserKind::Person)
    }

    /// An organisation (法人) with the business role.
    pub fn an_organisation(&self) -> AccountBuilder<'_> {
        AccountBuilder::new(self, UserKind::Organisation)
    }

    /// A staff account with no role (add them with `.with_role(..)`).
    pub fn a_staff(&self) -> AccountBuilder<'_> {
        AccountBuilder::new(self, UserKind::Staff)
    }

    /// A system administrator (系统管理员).
    pub fn a_sysadmin(&self) -> AccountBuilder<'_> {
        self.a_staff().with_role("sysadmin")
    }

    /// A security administrator (安全管理员).
    pub fn a_secadmin(&self) -> AccountBuilder<'_> {
        self.a_staff().with_role("secadmin")
    }

    /// A security auditor (安全审计员).
    pub fn an_auditor(&self) -> AccountBuilder<'_> {
        self.a_staff().with_role("auditor")
    }

    /// A reviewer (审查人员) of a department.
    pub fn a_reviewer(&self, department: &str) -> AccountBuilder<'_> {
        self.a_staff().in_department(department).with_role("reviewer")
    }

    /// A department head (负责人), who decides.
    pub fn a_head(&self, department: &str) -> AccountBuilder<'_> {
        self.a_staff().in_department(department).with_role("head")
    }

    /// A published item (by default: see [`default_item`]).
    pub fn an_item(&self) -> ItemBuilder<'_> {
        ItemBuilder { app: self, def: default_item(self.next()) }
    }

    /// A submitted application (a case in its first state); see [`CaseBuilder`].
    pub fn an_application(&self) -> CaseBuilder<'_> {
        self.a_case()
    }

    /// A case, by default submitted for a new item by a new citizen.
    pub fn a_case(&self) -> CaseBuilder<'_> {
        CaseBuilder { app: self, item: None, applicant: None, state: CaseState::Submitted }
    }

    /// A department with a name (through the store: the platform has no use case for it).
    pub async fn a_department(&self, code: &str, name: &str) -> i64 {
        let n = self.next();
        let credit = credit_code_with_check(&format!("11310112MB{n:07}")).unwrap();
        let mut tx = self.state.core.db.begin().await.unwrap();
        org::insert_department(&mut tx, code, name, Some(&credit), n as i64).await.unwrap();
        let id = org::department_by_code(&mut tx, code).await.unwrap().unwrap().id;
        tx.commit().await.unwrap();
        id
    }

    /// A service hall with a name and two windows (through the store).
    pub async fn a_site(&self, code: &str, name: &str) -> i64 {
        let n = self.next();
        let mut tx = self.state.core.db.begin().await.unwrap();
        let id = org::insert_site(
            &mut tx,
            code,
            name,
            tongban::domain::org::SiteKind::CommunityCenter,
            "测试街道",
            "闵行区测试路 1 号",
            n as i64,
        )
        .await
        .unwrap();
        for w in ["01", "02"] {
            org::insert_window(&mut tx, id, w, &format!("综合窗口 {w}")).await.unwrap();
        }
        tx.commit().await.unwrap();
        id
    }

    /// A licence type (证照目录) through the administrators' use case: public, permanent, for
    /// persons, issued by [`DEPARTMENT`] with the face `holder_name` and `face_fields` (one
    /// `字段名|标签|必填` a line); see [`LicenceTypeBuilder`].
    pub fn a_licence_type(&self, code: &str) -> LicenceTypeBuilder<'_> {
        LicenceTypeBuilder {
            app: self,
            form: app::licences::TypeForm {
                code: code.into(),
                catalog_code: format!("TEST{:03}", self.next()),
                name: format!("测试证照 {code}"),
                department: DEPARTMENT.into(),
                holder_kind: "person".into(),
                face_fields: "holder_name|持证人|必填".into(),
                validity: "permanent".into(),
                template: "standard".into(),
                public: true,
            },
        }
    }

    /// A licence of `licence_type` issued by hand; see [`LicenceBuilder`].
    pub fn a_licence(&self, licence_type: &str) -> LicenceBuilder<'_> {
        LicenceBuilder { app: self, licence_type: licence_type.into(), holder: None, face: Map::new(), revoked: None }
    }

    /// A life event (一件事) offering `items`, for persons (through the store, as the catalogue
    /// import does).
    pub async fn a_life_event(&self, code: &str, name: &str, items: &[&Item]) {
        let event = tongban::store::catalogue::LifeEvent {
            code: code.into(),
            name: name.into(),
            description: format!("{name}，一次申请。"),
            subjects: "person".into(),
            items: items.iter().map(|i| i.code.clone()).collect(),
        };
        let mut tx = self.state.core.db.begin().await.unwrap();
        tongban::store::catalogue::insert_life_event(&mut tx, &event, self.next() as i64).await.unwrap();
        tongban::store::catalogue::bump_revision(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// The id of a department, made (named 测试部门 and its code) when missing.
    pub async fn ensure_department(&self, code: &str) -> i64 {
        let found = org::department_by_code(&mut self.state.core.db.conn().await.unwrap(), code).await.unwrap();
        match found {
            Some(d) => d.id,
            None => self.a_department(code, &format!("测试部门 {code}")).await,
        }
    }

    /// The id of a service hall, made (named 测试服务中心 and its code) when missing.
    pub async fn ensure_site(&self, code: &str) -> i64 {
        let found = org::site_by_code(&mut self.state.core.db.conn().await.unwrap(), code).await.unwrap();
        match found {
            Some(s) => s.id,
            None => self.a_site(code, &format!("测试服务中心 {code}")).await,
        }
    }

    /// The use cases' view of an account.
    pub async fn actor(&self, account: &Account) -> Actor {
        app::auth::actor_for_user(&self.state.core, account.id, "127.0.0.1").await.unwrap().expect("actor")
    }

    /// The case number of an application.
    pub async fn case_number_of(&self, application: &str) -> String {
        use sqlx::Row;
        sqlx::query("SELECT c.number FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.number = $1")
            .bind(application)
            .fetch_one(self.state.core.db.pool())
            .await
            .unwrap()
            .get("number")
    }

    /// Someone of `department` who may take `action` on its cases: the head decides, a reviewer
    /// does the rest (each made once per department).
    async fn handler_for(&self, department: &str, action: &str) -> Actor {
        let role = if matches!(action, "approve" | "deny") { "head" } else { "reviewer" };
        let username = format!("{role}-{}", department.to_lowercase());
        let mut conn = self.state.core.db.conn().await.unwrap();
        let existing = users::by_username(&mut conn, &username).await.unwrap();
        drop(conn);
        let id = match existing {
            Some(u) => u.id,
            None => self.a_staff().username(&username).in_department(department).with_role(role).await.id,
        };
        app::auth::actor_for_user(&self.state.core, id, "127.0.0.1").await.unwrap().expect("actor")
    }
}

#[tokio::test]
async fn the_case_builder_reaches_every_state_through_the_workflow() {
    use CaseState::*;
    let app = TestApp::spawn().await;
    let promised = app.an_item().await;
    let immediate = app.an_item().immediate().await;
    let promised_states = [
        Submitted,
        SupplementRequested,
        Accepted,
        Examined,
        Suspended,
        Approved,
        Delivered,
        Refused,
        Denied,
        Withdrawn,
    ];
    let reachable = promised_states
        .map(|s| (&promised, s))
        .into_iter()
        .chain([Submitted, Approved, Delivered].map(|s| (&immediate, s)));
    for (item, state) in reachable {
        let case = app.a_case().for_item(item).in_state(state).await;
        let status: String = sqlx::query_scalar("SELECT status FROM cases WHERE number = $1")
            .bind(&case.number)
            .fetch_one(app.state.core.db.pool())
            .await
            .unwrap();
        let expected = format!("{state:?}").chars().fold(String::new(), |mut out, c| {
            if c.is_uppercase() && !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            out
        });
        assert_eq!(status, expected, "{} {state:?}", item.def.workflow_code());
    }
}
