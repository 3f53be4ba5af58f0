//! Demo data: the departments and service halls of Minhang district, and one account per role.
//! All demo accounts share the published password `Tongban@2026` (README); production has no
//! default passwords — the first administrator is made with `tongban user create`.

use anyhow::Context;

use crate::app::{self, Actor, Core};
use crate::domain::identity::{credit_code_with_check, id_number_with_check};
use crate::domain::item::ItemDefinition;
use crate::store::audit::Outcome;
use crate::store::users::{NewUser, UserKind};
use crate::store::{catalogue, org, roles, users};

pub const DEMO_PASSWORD: &str = "Tongban@2026";

/// Cases of generated history that `serve --demo` adds to a fresh database.
pub const DEMO_HISTORY_CASES: u64 = 3_000;

/// The demo service catalogue: items with materials and forms, life events, search synonyms.
pub const CATALOGUE_JSON: &str = include_str!("../seed/catalogue.json");

#[derive(serde::Deserialize)]
struct CatalogueSeed {
    items: Vec<ItemDefinition>,
    life_events: Vec<EventSeed>,
    synonyms: Vec<SynonymSeed>,
}

#[derive(serde::Deserialize)]
struct EventSeed {
    code: String,
    name: String,
    description: String,
    subjects: Vec<String>,
    items: Vec<String>,
}

#[derive(serde::Deserialize)]
struct SynonymSeed {
    term: String,
    canonical: String,
}

/// (code, name)
const DEPARTMENTS: &[(&str, &str)] = &[
    ("SCJGJ", "区市场监管局"),
    ("RSJ", "区人力资源社会保障局"),
    ("MZJ", "区民政局"),
    ("WJW", "区卫生健康委"),
    ("JSGLW", "区建设管理委"),
    ("GHZYJ", "区规划资源局"),
    ("YBJ", "区医保局"),
    ("FGJ", "区住房保障房屋管理局"),
    ("GAFJ", "区公安分局"),
    ("SWJ", "区税务局"),
    ("GJJ", "区公积金管理中心"),
    ("JYJ", "区教育局"),
    ("STHJJ", "区生态环境局"),
    ("CL", "区残联"),
    ("WHLYJ", "区文化旅游局"),
    ("JTW", "区交通委"),
    ("SFJ", "区司法局"),
    ("NYNCW", "区农业农村委"),
];

/// (code, subdistrict or town, is a town)
const COMMUNITY_CENTRES: &[(&str, &str)] = &[
    ("jiangchuanlu", "江川路街道"),
    ("gumeilu", "古美路街道"),
    ("xinhong", "新虹街道"),
    ("pujin", "浦锦街道"),
    ("xinzhuang", "莘庄镇"),
    ("qibao", "七宝镇"),
    ("zhuanqiao", "颛桥镇"),
    ("huacao", "华漕镇"),
    ("hongqiao", "虹桥镇"),
    ("meilong", "梅陇镇"),
    ("wujing", "吴泾镇"),
    ("maqiao", "马桥镇"),
    ("pujiang", "浦江镇"),
    ("xinzhuang-industrial", "莘庄工业区"),
];

struct DemoUser {
    username: &'static str,
    name: &'static str,
    role: &'static str,
    department: Option<&'static str>,
    site: Option<&'static str>,
}

const STAFF: &[DemoUser] = &[
    DemoUser { username: "admin", name: "王建国", role: "sysadmin", department: None, site: None },
    DemoUser { username: "secadmin", name: "李安平", role: "secadmin", department: None, site: None },
    DemoUser { username: "auditor", name: "赵审之", role: "auditor", department: None, site: None },
    DemoUser {
        username: "window01", name: "陈晓梅", role: "window", department: None, site: Some("district-center")
    },
    DemoUser { username: "window02", name: "吴静", role: "window", department: None, site: Some("xinzhuang") },
    DemoUser { username: "reviewer01", name: "刘志强", role: "reviewer", department: Some("SCJGJ"), site: None },
    DemoUser { username: "head01", name: "孙丽华", role: "head", department: Some("SCJGJ"), site: None },
    DemoUser { username: "reviewer02", name: "黄海燕", role: "reviewer", department: Some("RSJ"), site: None },
    DemoUser { username: "head02", name: "马卫东", role: "head", department: Some("RSJ"), site: None },
    DemoUser { username: "leader01", name: "周明", role: "leader", department: None, site: None },
    DemoUser { username: "catalog01", name: "郑文", role: "catalog_admin", department: None, site: None },
    DemoUser { username: "licence01", name: "冯证", role: "licence_admin", department: None, site: None },
];

/// Seeds the demo data when the database has none; returns whether it did.
pub async fn seed_if_empty(core: &Core) -> anyhow::Result<bool> {
    let empty = org::list_departments(&mut *core.db.conn().await?).await?.is_empty();
    if empty {
        seed(core).await?;
        // A year of history, so that the office queues and the dashboards look like a district's.
        crate::demo_cases::generate(core, DEMO_HISTORY_CASES, false).await?;
    }
    Ok(empty)
}

/// The queue services of the demo's halls: 综合 (A), 社保医保 (B) everywhere, 企业开办 (C) at the
/// district centre.
const HALL_SERVICES: [app::queue::setup::ServiceSpec<'static>; 3] = [
    app::queue::setup::ServiceSpec { code: "general", name: "综合业务", prefix: "A", target_wait_minutes: 20 },
    app::queue::setup::ServiceSpec { code: "social", name: "社保医保", prefix: "B", target_wait_minutes: 20 },
    app::queue::setup::ServiceSpec { code: "business", name: "企业开办", prefix: "C", target_wait_minutes: 30 },
];

/// Opens queueing at a site: its services, and for each window (numbered from 1) the services
/// (by index) that `serves` says it takes.
async fn open_queue(
    tx: &mut sqlx::AnyConnection,
    site_id: i64,
    services: &[app::queue::setup::ServiceSpec<'_>],
    serves: impl Fn(usize, usize) -> bool,
) -> anyhow::Result<()> {
    let ids = app::queue::setup::open_site(tx, site_id, services).await?;
    let windows = crate::store::queue::windows_of_site(tx, site_id).await?;
    for (n, w) in windows.iter().enumerate() {
        for (k, service) in ids.iter().enumerate() {
            if serves(n + 1, k) {
                app::queue::setup::serve(tx, w.id, *service).await?;
            }
        }
    }
    Ok(())
}

/// Seeds everything in one transaction: all or nothing.
pub async fn seed(core: &Core) -> anyhow::Result<()> {
    let hash = app::passwords::hash(DEMO_PASSWORD.to_owned()).await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    for (i, (code, name)) in DEPARTMENTS.iter().enumerate() {
        let credit = credit_code_with_check(&format!("11310112MB{:07}", i + 1)).context("department credit code")?;
        org::insert_department(&mut tx, code, name, Some(&credit), i as i64).await?;
    }
    let centre = org::insert_site(
        &mut tx,
        "district-center",
        "闵行区行政服务中心",
        crate::domain::org::SiteKind::DistrictCenter,
        "",
        "闵行区（区级政务服务中心）",
        0,
    )
    .await?;
    for n in 1..=20 {
        org::insert_window(&mut tx, centre, &format!("{n:02}"), &format!("综合窗口 {n:02}")).await?;
    }
    for (i, (code, place)) in COMMUNITY_CENTRES.iter().enumerate() {
        let id = org::insert_site(
            &mut tx,
            code,
            &format!("{place}社区事务受理服务中心"),
            crate::domain::org::SiteKind::CommunityCenter,
            place,
            &format!("闵行区{place}"),
            i as i64 + 1,
        )
        .await?;
        for n in 1..=6 {
            org::insert_window(&mut tx, id, &format!("{n:02}"), &format!("综合窗口 {n:02}")).await?;
        }
        open_queue(&mut tx, id, &HALL_SERVICES[..2], |_, _| true).await?;
    }
    // The district centre: windows 01–15 take 综合 and 社保医保, 16–20 are the business desks.
    open_queue(&mut tx, centre, &HALL_SERVICES, |window, service| (window <= 15) == (service < 2)).await?;
    for u in STAFF {
        let department_id = match u.department {
            Some(code) => Some(org::department_by_code(&mut tx, code).await?.context("demo department")?.id),
            None => None,
        };
        let site_id = match u.site {
            Some(code) => Some(org::site_by_code(&mut tx, code).await?.context("demo site")?.id),
            None => None,
        };
        let new = NewUser {
            username: u.username,
            display_name: u.name,
            kind: UserKind::Staff,
            department_id,
            site_id,
            password_hash: &hash,
            must_change_password: false,
            id_number_enc: None,
            id_number_digest: None,
            phone_enc: None,
            credit_code: None,
            contact_name: None,
            now,
        };
        let id = users::insert(&mut tx, &new).await?;
        users::mark_demo(&mut tx, id).await?;
        let scope = crate::domain::role::builtin(u.role).context("demo role")?.scope.name();
        roles::set_user_roles(&mut tx, id, &[(u.role.to_owned(), scope.to_owned())]).await?;
    }
    let citizens = [
        ("citizen01", "张三", "31011219850312123", "13800138001"),
        ("citizen02", "李四", "31011219920708456", "13900139002"),
    ];
    for (username, name, first17, phone) in citizens {
        let id_number = id_number_with_check(first17).context("demo id number")?;
        let new = NewUser {
            username,
            display_name: name,
            kind: UserKind::Person,
            department_id: None,
            site_id: None,
            password_hash: &hash,
            must_change_password: false,
            id_number_enc: Some(core.cipher.encrypt(&id_number)),
            id_number_digest: Some(core.cipher.index(&id_number)),
            phone_enc: Some(core.cipher.encrypt(phone)),
            credit_code: None,
            contact_name: None,
            now,
        };
        let id = users::insert(&mut tx, &new).await?;
        users::mark_demo(&mut tx, id).await?;
        roles::set_user_roles(&mut tx, id, &[("citizen".to_owned(), "own".to_owned())]).await?;
    }
    let biz_code = credit_code_with_check("91310112MA1GDEM08").context("demo credit code")?;
    let new = NewUser {
        username: "biz01",
        display_name: "上海闵味餐饮管理有限公司",
        kind: UserKind::Organisation,
        department_id: None,
        site_id: None,
        password_hash: &hash,
        must_change_password: false,
        id_number_enc: None,
        id_number_digest: None,
        phone_enc: Some(core.cipher.encrypt("13700137003")),
        credit_code: Some(&biz_code),
        contact_name: Some("王五"),
        now,
    };
    let id = users::insert(&mut tx, &new).await?;
    users::mark_demo(&mut tx, id).await?;
    roles::set_user_roles(&mut tx, id, &[("business".to_owned(), "own".to_owned())]).await?;
    seed_catalogue(&mut tx, &core.clock).await?;
    seed_licence_types(&mut tx, &core.clock).await?;
    app::audit_in(&mut tx, &core.clock, &Actor::console(), "demo.seed", "demo", Outcome::Success, "演示数据")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    seed_applications(core).await?;
    seed_licences(core).await?;
    Ok(())
}

/// (code, catalogue code, name, issuing department, holder kind, face fields, validity, template)
type LicenceTypeSeed =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

/// The demo licence catalogue.
const LICENCE_TYPES: &[LicenceTypeSeed] = &[
    (
        "INDIVIDUAL_BUSINESS_LICENCE",
        "SCJGJ001",
        "个体工商户营业执照",
        "SCJGJ",
        "person",
        "holder_name|经营者|必填\nbusiness_name|名称|选填\norganisation_form|组成形式|必填\nbusiness_address|经营场所|必填\nbusiness_scope|经营范围|必填",
        "permanent",
        "certificate",
    ),
    (
        "BUSINESS_LICENCE",
        "SCJGJ002",
        "营业执照",
        "SCJGJ",
        "organisation",
        "holder_name|名称|必填\nlegal_representative|法定代表人|必填\nregistered_capital|注册资本|必填\naddress|住所|必填\nbusiness_scope|经营范围|必填",
        "permanent",
        "certificate",
    ),
    (
        "FOOD_LICENCE",
        "SCJGJ003",
        "食品经营许可证",
        "SCJGJ",
        "organisation",
        "holder_name|经营者名称|必填\nbusiness_address|经营场所|必填\nbusiness_items|经营项目|必填",
        "years:5",
        "standard",
    ),
    (
        "DISABILITY_CERT",
        "CL001",
        "中华人民共和国残疾人证",
        "CL",
        "person",
        "holder_name|姓名|必填\ndisability_kind|残疾类别|必填\ndisability_level|残疾等级|必填",
        "years:10",
        "standard",
    ),
    (
        "MARRIAGE_CERT",
        "MZJ001",
        "结婚证",
        "MZJ",
        "person",
        "holder_name|持证人|必填\nspouse_name|配偶姓名|必填\nregistered_on|登记日期|必填",
        "permanent",
        "certificate",
    ),
    (
        "HOUSEHOLD_REGISTER",
        "GAFJ001",
        "居民户口簿",
        "GAFJ",
        "person",
        "holder_name|户主姓名|必填\naddress|住址|必填",
        "permanent",
        "standard",
    ),
    (
        "RESIDENCE_PERMIT",
        "GAFJ002",
        "上海市居住证",
        "GAFJ",
        "person",
        "holder_name|姓名|必填\naddress|居住地址|必填",
        "years:3",
        "standard",
    ),
    (
        "BIRTH_CERT",
        "WJW001",
        "出生医学证明",
        "WJW",
        "person",
        "child_name|新生儿姓名|必填\nborn_on|出生日期|必填\nmother_name|母亲姓名|必填",
        "permanent",
        "certificate",
    ),
    (
        "PROPERTY_CERT",
        "GHZYJ001",
        "不动产权证书",
        "GHZYJ",
        "person",
        "holder_name|权利人|必填\nlocation|坐落|必填\narea|面积（平方米）|必填",
        "permanent",
        "standard",
    ),
    (
        "PUBLIC_PLACE_HEALTH_PERMIT",
        "WJW002",
        "公共场所卫生许可证",
        "WJW",
        "organisation",
        "holder_name|单位名称|必填\naddress|地址|必填\nitems|许可项目|必填",
        "years:4",
        "standard",
    ),
    (
        "SOCIAL_SECURITY_CARD",
        "RSJ001",
        "社会保障卡",
        "RSJ",
        "person",
        "holder_name|姓名|必填\ncard_number|卡号|必填",
        "years:10",
        "standard",
    ),
];

async fn seed_licence_types(tx: &mut sqlx::AnyConnection, clock: &crate::clock::Clock) -> anyhow::Result<()> {
    let console = Actor::console();
    for (code, catalog_code, name, department, holder_kind, face_fields, validity, template) in LICENCE_TYPES {
        let form = app::licences::TypeForm {
            code: (*code).into(),
            catalog_code: (*catalog_code).into(),
            name: (*name).into(),
            department: (*department).into(),
            holder_kind: (*holder_kind).into(),
            face_fields: (*face_fields).into(),
            validity: (*validity).into(),
            template: (*template).into(),
            public: true,
        };
        app::licences::save_type_in(tx, clock, &console, &form, false)
            .await
            .map_err(|e| anyhow::anyhow!("demo licence type {code}: {e:?}"))?;
    }
    Ok(())
}

/// A few licences in citizen01's and biz01's wallets (the 个体工商户营业执照 replaces a required
/// material of 个体工商户变更登记, which citizen01 can apply for online), one of them revoked.
async fn seed_licences(core: &Core) -> anyhow::Result<()> {
    let console = Actor::console();
    let face = |pairs: &[(&str, &str)]| -> serde_json::Map<String, serde_json::Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned()))).collect()
    };
    let issue = |licence_type: &str, holder: &str, face: serde_json::Map<String, serde_json::Value>| {
        app::licences::HandIssue { licence_type: licence_type.into(), holder: holder.into(), face, valid_from: None }
    };
    let plan = [
        issue(
            "INDIVIDUAL_BUSINESS_LICENCE",
            "citizen01",
            face(&[
                ("business_name", "闵行区张记小吃店"),
                ("organisation_form", "个人经营"),
                ("business_address", "闵行区莘庄镇示例路 1 号"),
                ("business_scope", "小型餐饮服务"),
            ]),
        ),
        issue("MARRIAGE_CERT", "citizen01", face(&[("spouse_name", "王芳"), ("registered_on", "2012-05-20")])),
        issue("HOUSEHOLD_REGISTER", "citizen01", face(&[("address", "上海市闵行区莘庄镇示例路 1 号")])),
        issue(
            "BUSINESS_LICENCE",
            "biz01",
            face(&[
                ("legal_representative", "王五"),
                ("registered_capital", "100 万元"),
                ("address", "上海市闵行区七宝镇示例路 8 号"),
                ("business_scope", "餐饮企业管理；餐饮服务"),
            ]),
        ),
        issue(
            "FOOD_LICENCE",
            "biz01",
            face(&[("business_address", "上海市闵行区七宝镇示例路 8 号"), ("business_items", "热食类食品制售")]),
        ),
    ];
    for req in &plan {
        app::licences::issue_by_hand(core, &console, req)
            .await
            .map_err(|e| anyhow::anyhow!("demo licence {}: {e:?}", req.licence_type))?;
    }
    // An older residence permit, revoked by the issuing department.
    let revoked = issue("RESIDENCE_PERMIT", "citizen01", face(&[("address", "上海市闵行区古美路街道示例路 3 号")]));
    let issued = app::licences::issue_by_hand(core, &console, &revoked)
        .await
        .map_err(|e| anyhow::anyhow!("demo residence permit: {e:?}"))?;
    let department = org::department_by_code(&mut *core.db.conn().await?, "GAFJ").await?.context("GAFJ")?;
    let head = Actor { department: Some(department), ..console };
    app::licences::change_status(core, &head, &issued.identifier, app::licences::Lifecycle::Revoke, "演示：已换发新证")
        .await
        .map_err(|e| anyhow::anyhow!("demo revoke: {e:?}"))?;
    Ok(())
}

async fn seed_catalogue(tx: &mut sqlx::AnyConnection, clock: &crate::clock::Clock) -> anyhow::Result<()> {
    let seed: CatalogueSeed = serde_json::from_str(CATALOGUE_JSON).context("seed/catalogue.json")?;
    let console = Actor::console();
    for def in &seed.items {
        app::catalogue::publish_in(tx, clock, &console, def)
            .await
            .map_err(|e| anyhow::anyhow!("demo item {}: {e:?}", def.code))?;
    }
    for (i, e) in seed.life_events.iter().enumerate() {
        let event = catalogue::LifeEvent {
            code: e.code.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            subjects: e.subjects.join(","),
            items: e.items.clone(),
        };
        catalogue::insert_life_event(tx, &event, i as i64).await?;
    }
    let now = clock.now_ms();
    for s in &seed.synonyms {
        catalogue::upsert_synonym(tx, &s.term, &s.canonical, now).await?;
    }
    catalogue::bump_revision(tx).await?;
    Ok(())
}

/// The demo catalogue's item definitions.
pub fn catalogue_items() -> Vec<ItemDefinition> {
    serde_json::from_str::<CatalogueSeed>(CATALOGUE_JSON).map(|s| s.items).unwrap_or_default()
}

/// A fully online item for persons whose every material takes PDFs of at least `min_bytes`
/// (benchmarks and crash tests submit to it).
pub fn online_person_item(min_bytes: u64) -> Option<ItemDefinition> {
    catalogue_items().into_iter().find(|d| {
        d.fully_online
            && d.subjects.contains(&crate::domain::item::Subject::Person)
            && d.materials.iter().all(|m| m.accept.iter().any(|a| a == "application/pdf") && m.max_bytes >= min_bytes)
    })
}

/// A minimal valid PDF, standing in for a scanned document in demo applications.
pub const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// A few applications of citizen01's: one submitted, one withdrawn, one draft.
async fn seed_applications(core: &Core) -> anyhow::Result<()> {
    let mut conn = core.db.conn().await?;
    let citizen = users::by_username(&mut conn, "citizen01").await?.context("citizen01")?;
    drop(conn);
    let actor = app::auth::actor_for_user(core, citizen.id, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("actor")?;
    let seed: CatalogueSeed = serde_json::from_str(CATALOGUE_JSON).context("seed/catalogue.json")?;
    let picks: Vec<&ItemDefinition> = seed
        .items
        .iter()
        .filter(|d| d.fully_online && d.subjects.contains(&crate::domain::item::Subject::Person))
        .take(3)
        .collect();
    for (i, def) in picks.iter().enumerate() {
        let values = demo_answers(def, &citizen.display_name);
        let uploads = def
            .materials
            .iter()
            .filter(|m| m.required && m.accept.iter().any(|a| a == "application/pdf"))
            .map(|m| app::applications::Upload {
                material_code: m.code.clone(),
                file_name: format!("{}.pdf", m.name),
                bytes: axum::body::Bytes::from_static(DEMO_PDF),
            })
            .collect();
        let input = app::applications::Input { values, uploads, idempotency_key: None, licences: Vec::new() };
        let saved = app::applications::save(core, &actor, &def.code, input, i < 2, true)
            .await
            .map_err(|e| anyhow::anyhow!("demo application for {}: {e:?}", def.code))?;
        if i == 1 {
            app::applications::withdraw(core, &actor, &saved.number).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
    }
    Ok(())
}

/// Plausible answers for every field of a form (demo data only).
pub fn demo_answers(def: &ItemDefinition, name: &str) -> serde_json::Map<String, serde_json::Value> {
    use crate::domain::item::FieldType;
    use serde_json::Value;
    let sample = |kind: FieldType, field: &str, options: &[String]| -> Value {
        match kind {
            FieldType::IdNumber => Value::String(id_number_with_check("31011219850312123").unwrap_or_default()),
            FieldType::Phone => Value::String("13800138001".into()),
            FieldType::CreditCode => Value::String(credit_code_with_check("91310112MA1GDEM08").unwrap_or_default()),
            FieldType::Email => Value::String("citizen01@example.com".into()),
            FieldType::Date => Value::String("2026-11-20".into()),
            FieldType::Number => Value::String("1".into()),
            FieldType::Select => Value::String(options.first().cloned().unwrap_or_default()),
            FieldType::Checkbox => Value::Bool(true),
            FieldType::Address => Value::String("闵行区莘庄镇示例路 1 号".into()),
            _ if field.contains("name") => Value::String(name.into()),
            _ => Value::String("演示内容".into()),
        }
    };
    let mut out = serde_json::Map::new();
    for f in &def.form.fields {
        let v = if f.kind == FieldType::Table {
            let row: serde_json::Map<String, Value> =
                f.columns.iter().map(|c| (c.name.clone(), sample(c.kind, &c.name, &[]))).collect();
            Value::Array(vec![Value::Object(row)])
        } else {
            sample(f.kind, &f.name, &f.options)
        };
        out.insert(f.name.clone(), v);
    }
    out
}
