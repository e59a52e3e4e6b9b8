//! Operator commands against the configured store: `users create`, `users set-status` and
//! `seed-demo`.

use std::sync::Arc;

use anyhow::Context as _;
use rodando_adapter_argon2::Argon2Hasher;
use rodando_application::clock::SystemClock;
use rodando_application::demo::seed_demo_users;
use rodando_application::user_status::{Operator, SetStatusError, UserRef};
use rodando_application::users::{NewUser, UserAdmin};
use rodando_domain::user::{Email, NewPassword, PersonName, PhoneNumber};

use crate::cli::{CreateUser, SetStatus};
use crate::stores::Stores;
use crate::{Application, Config};

/// The embedded store lives inside a running server only: these commands need PostgreSQL.
async fn persistent_store(config: &Config) -> anyhow::Result<Stores> {
    if config.database_url.is_none() {
        anyhow::bail!(
            "needs DATABASE_URL: the embedded store lives only inside a running server (which seeds the demo users itself)"
        );
    }
    Stores::from_config(config).await
}

async fn user_admin(config: &Config) -> anyhow::Result<UserAdmin> {
    let stores = persistent_store(config).await?;
    Ok(UserAdmin::new(
        stores.users,
        Arc::new(Argon2Hasher::new()?),
        Arc::new(SystemClock),
    ))
}

/// `rodando-server users create --type … --email … --password … --name … [--phone …]`.
///
/// # Errors
/// Invalid arguments (each named), a taken e-mail or phone, or an unreachable store.
pub async fn create_user(config: &Config, args: CreateUser) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let email = Email::parse(&args.email)
        .map_err(|e| problems.push(format!("--email {e}")))
        .ok();
    let name = PersonName::parse(&args.name)
        .map_err(|e| problems.push(format!("--name {e}")))
        .ok();
    let password = NewPassword::parse(&args.password)
        .map_err(|e| problems.push(format!("--password {e}")))
        .ok();
    let phone = match args.phone.as_deref().map(PhoneNumber::parse) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            problems.push(format!("--phone {e}"));
            None
        }
    };
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        anyhow::bail!("{}", problems.join("; "));
    };
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("; "));
    }
    let user = user_admin(config)
        .await?
        .create(NewUser {
            email,
            phone,
            name,
            user_type: args.user_type.into(),
            password,
        })
        .await
        .context("could not create the user")?;
    println!(
        "created {} {} ({})",
        user.user_type.as_str(),
        user.email.as_str(),
        user.id
    );
    Ok(())
}

/// `rodando-server users set-status --email … --status active|inactive|banned`: the use case
/// of `PATCH /api/users/{id}`, with `cli` as the operator in the audit line.
///
/// The command runs as a node of the deployment that serves no client (its listener, on an
/// ephemeral local port, is never served) for as long as the change takes: with `REDIS_URL`,
/// the sessions it ends reach their sockets on every node exactly as a logout does. Without
/// `REDIS_URL` no running server can be told; its sockets of the user are refused at their
/// next check (token refresh, reconnect), so prefer the REST route there.
///
/// # Errors
/// A bad e-mail, no such user, or an unreachable store or Redis.
pub async fn set_status(config: &Config, args: SetStatus) -> anyhow::Result<()> {
    let email = Email::parse(&args.email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let stores = persistent_store(config).await?;
    let mut node = config.clone();
    node.host = "127.0.0.1".to_owned();
    node.port = 0;
    let app = Application::build_with(node, stores, Arc::new(SystemClock)).await?;
    let outcome = app
        .user_status()
        .set_status(&Operator::Cli, &UserRef::Email(email), args.status.into())
        .await;
    // The kicks are queued for Redis: exiting now could drop them.
    let settled = app.settle_cluster().await;
    app.shutdown_token().cancel();
    if let Err(e) = settled {
        tracing::warn!(error = %e, "the other nodes may not have heard the change; their sockets of the user end at their next check");
    }
    let changed = match outcome {
        Ok(changed) => changed,
        Err(SetStatusError::NotFound) => {
            anyhow::bail!("no user has the e-mail {}", args.email.trim())
        }
        Err(e) => return Err(e).context("could not set the status"),
    };
    let user = &changed.user;
    println!(
        "{} {} ({}): {} -> {}; {} sessions ended{}",
        user.user_type.as_str(),
        user.email.as_str(),
        user.id,
        changed.previous.as_str(),
        user.status.as_str(),
        changed.sessions_ended,
        if changed.offer_released {
            "; open offer released"
        } else {
            ""
        }
    );
    Ok(())
}

/// `rodando-server seed-demo`: the demo users of PROTOCOL §2, skipping existing ones, and
/// `SEED_DEMO_DRIVERS` / `SEED_DEMO_PASSENGERS` more as the embedded store seeds them
/// (`driver4@…`, `passenger3@…` onwards; the e2e PostgreSQL pass and the store benchmark).
///
/// # Errors
/// An unreachable store.
pub async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    let stores = persistent_store(config).await?;
    let hasher = Arc::new(Argon2Hasher::new()?);
    let admin = UserAdmin::new(stores.users.clone(), hasher.clone(), Arc::new(SystemClock));
    let mut created = seed_demo_users(&admin)
        .await
        .context("could not seed the demo users")?;
    for (user_type, count) in [
        (
            rodando_domain::user::UserType::Driver,
            config.seed_demo_drivers,
        ),
        (
            rodando_domain::user::UserType::Passenger,
            config.seed_demo_passengers,
        ),
    ] {
        created += rodando_application::demo::seed_extra_demo_users(
            stores.users.as_ref(),
            hasher.as_ref(),
            &SystemClock,
            user_type,
            count,
        )
        .await
        .context("could not seed the extra demo users")?;
    }
    println!(
        "seeded {created} demo users (password \"{}\")",
        rodando_application::demo::DEMO_PASSWORD
    );
    Ok(())
}
