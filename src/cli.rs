//! The administrative commands of the binary (`migrate`, `demo`, `user …`, `audit verify`,
//! `licence …`, `keys rotate`).

use std::process::ExitCode;

use crate::app::{self, Actor, AppError, FieldError};
use crate::config::Config;
use crate::server::build_state;

pub async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    build_state(config).await?;
    println!("数据库迁移已完成");
    Ok(ExitCode::SUCCESS)
}

pub async fn demo(config: &Config, cases: Option<u64>) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    let seeded = crate::demo::seed_if_empty(&state.core).await?;
    if seeded {
        println!("演示数据已写入");
    }
    match cases {
        Some(n) => {
            let started = std::time::Instant::now();
            let done = crate::demo_cases::generate(&state.core, n, true).await?;
            println!("已生成 {done} 件办件，用时 {:.0} 秒", started.elapsed().as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        None if seeded => Ok(ExitCode::SUCCESS),
        None => {
            eprintln!("数据库中已有部门数据，未写入演示数据");
            Ok(ExitCode::from(3))
        }
    }
}

pub async fn user_create(
    config: &Config,
    username: &str,
    name: &str,
    roles: &[String],
    department: Option<&str>,
    site: Option<&str>,
    password: Option<String>,
) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    let staff = app::users::NewStaff {
        username: username.to_owned(),
        display_name: name.to_owned(),
        department: department.unwrap_or_default().to_owned(),
        site: site.unwrap_or_default().to_owned(),
    };
    let assignments: Vec<(String, String)> = roles.iter().map(|r| (r.clone(), String::new())).collect();
    let given = password.is_some();
    match app::users::create_staff(&state.core, &Actor::console(), &staff, &assignments, password).await {
        Ok(password) => {
            println!("已创建账户 {username}（首次登录须修改密码）");
            if !given {
                println!("一次性密码：{password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

pub async fn user_reset_password(config: &Config, username: &str) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    match app::users::reset_password(&state.core, &Actor::console(), username).await {
        Ok(password) => {
            println!("账户 {username} 的一次性密码：{password}（下次登录须修改）");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

pub async fn user_disable(config: &Config, username: &str) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    match app::users::set_disabled(&state.core, &Actor::console(), username, true).await {
        Ok(()) => {
            println!("账户 {username} 已停用，其会话已结束");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

pub async fn audit_verify(config: &Config) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    let report = app::audit::verify_chain(&state.core).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match report.broken {
        None => {
            println!("审计日志完整：{} 条记录的 SM3 哈希链校验通过", report.checked);
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, why)) => {
            eprintln!("审计日志被篡改：第 {seq} 条记录起链条断裂（{why}）；此前 {} 条完好", report.checked);
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn licence_rotate_key(config: &Config) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    match app::licences::rotate_key(&state.core, &Actor::console()).await {
        Ok(key_id) => {
            println!(
                "已生成新的证照签名密钥 {key_id}，此后签发的证照使用该密钥；旧证照仍可核验。运行中的服务重启后生效"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

pub async fn licence_expire(config: &Config) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    match app::licences::expire_due(&state.core, state.core.clock.today()).await {
        Ok(n) => {
            println!("已将 {n} 张到期证照标记为已过期");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

pub async fn keys_rotate(config: &Config) -> anyhow::Result<ExitCode> {
    let state = build_state(config).await?;
    let settle = 2 * app::at_rest::KEY_REFRESH;
    println!("正在轮换个人信息加密密钥（服务可继续运行；中断后重新运行本命令即可继续）…");
    match app::at_rest::rotate(&state.core, &Actor::console(), settle).await {
        Ok(r) => {
            println!(
                "{}字段密钥 k{}：已重新加密 {} 个字段值、{} 个文件。旧密钥文件（keys/field-N.key，N < {}）已不再使用，可移出并离线保管",
                if r.resumed { "已完成上次中断的轮换。" } else { "" },
                r.key,
                r.resealed.values,
                r.resealed.files,
                r.key
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => report(e),
    }
}

fn report(e: AppError) -> anyhow::Result<ExitCode> {
    match e {
        AppError::Invalid(problems) => {
            for FieldError { field, message, .. } in problems {
                eprintln!("{field}: {message}");
            }
            Ok(ExitCode::from(2))
        }
        AppError::Internal(e) => Err(e),
        other => {
            eprintln!("{other}");
            Ok(ExitCode::from(2))
        }
    }
}
