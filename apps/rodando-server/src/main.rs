//! `rodando-server`: telemetry → config → store → services → server.

use std::process::ExitCode;

use clap::Parser;
use rodando_server::cli::{Cli, Command, UsersCommand};
use rodando_server::{Application, Config, admin, telemetry};

/// mimalloc instead of glibc's malloc: under the ping load glibc's malloc and free were 18 % of
/// the server's CPU samples (perf), mimalloc's 4 %; measured back to back, 13 % less server CPU
/// per acked ping, and 0.4 KB less per idle socket (docs/benchmarks.md, "Profiles").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("rodando-server: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Users {
            command: UsersCommand::Create(args),
        } => admin::create_user(&config, args).await,
        Command::Users {
            command: UsersCommand::SetStatus(args),
        } => admin::set_status(&config, args).await,
        Command::SeedDemo => admin::seed_demo(&config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rodando-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.dev_secrets {
        tracing::warn!(
            "USING DEVELOPMENT JWT SECRETS: set JWT_ACCESS_SECRET and JWT_REFRESH_SECRET before exposing this server"
        );
    }
    let app = Application::build(config).await?;
    tracing::info!(port = app.port(), "listening (REST + Socket.IO)");
    let shutdown = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.cancel();
    });
    app.run_until_stopped().await?;
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown signal received");
}
