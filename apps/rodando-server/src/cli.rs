//! Command line: `serve` (default), `users create`, `users set-status`, `seed-demo`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use rodando_domain::user::{UserStatus, UserType};

/// Rodando Realtime server. Configuration comes from the environment (see README).
#[derive(Debug, Parser)]
#[command(name = "rodando-server", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP + Socket.IO server (the default).
    Serve,
    /// Manage users in the configured store.
    Users {
        /// What to do with users.
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Write the demo users into the configured store.
    SeedDemo,
}

/// `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an active user.
    Create(CreateUser),
    /// Ban, deactivate or re-activate a user, as `PATCH /api/users/{id}` does: a user no longer
    /// active is logged out everywhere (its sockets on every node reached through REDIS_URL)
    /// and a driver's open offer is released.
    SetStatus(SetStatus),
}

/// `users set-status` options.
#[derive(Debug, Args)]
pub struct SetStatus {
    /// The user's login e-mail.
    #[arg(long)]
    pub email: String,
    /// The new status.
    #[arg(long, value_enum)]
    pub status: UserStatusArg,
}

/// `--status` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UserStatusArg {
    /// May log in again.
    Active,
    /// Suspended: may not log in.
    Inactive,
    /// Banned: may not log in.
    Banned,
}

impl From<UserStatusArg> for UserStatus {
    fn from(s: UserStatusArg) -> Self {
        match s {
            UserStatusArg::Active => UserStatus::Active,
            UserStatusArg::Inactive => UserStatus::Inactive,
            UserStatusArg::Banned => UserStatus::Banned,
        }
    }
}

/// `users create` options.
#[derive(Debug, Args)]
pub struct CreateUser {
    /// Kind of user.
    #[arg(long = "type", value_enum)]
    pub user_type: UserTypeArg,
    /// Login e-mail.
    #[arg(long)]
    pub email: String,
    /// Initial password (8 to 128 characters).
    #[arg(long)]
    pub password: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Phone number, e.g. +5355550101.
    #[arg(long)]
    pub phone: Option<String>,
}

/// `--type` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UserTypeArg {
    /// A passenger.
    Passenger,
    /// A driver.
    Driver,
    /// An operator.
    Admin,
}

impl From<UserTypeArg> for UserType {
    fn from(t: UserTypeArg) -> Self {
        match t {
            UserTypeArg::Passenger => UserType::Passenger,
            UserTypeArg::Driver => UserType::Driver,
            UserTypeArg::Admin => UserType::Admin,
        }
    }
}
