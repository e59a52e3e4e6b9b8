//! # rodando-application
//!
//! The use cases: log in, refresh, log out, admit a socket, update a driver's availability,
//! sweep silent drivers, create users, ban or deactivate them. Each loads through a port,
//! applies a pure rule of [`rodando_domain`], stores atomically, and only then notifies.
//! Services hold their ports as `Arc<dyn Port>` because the store is chosen at run time (memory
//! or PostgreSQL); the cost of dynamic dispatch is nothing next to the I/O behind it.

/// Declares a service: a cloneable handle (its ports are `Arc`s) whose `new` takes each of its
/// ports, in field order, and keeps it as is, so the list of what a service depends on is
/// written once. Fields after `..` start at the value given and are set by the service's
/// builder methods.
macro_rules! service {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident: $ty:ty,)+
            $(.. $($(#[$dmeta:meta])* $dfield:ident: $dty:ty = $default:expr,)+)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            $($(#[$fmeta])* $fvis $field: $ty,)+
            $($($(#[$dmeta])* $dfield: $dty,)+)?
        }

        impl $name {
            /// Wires the service.
            #[allow(clippy::too_many_arguments)]
            pub fn new($($field: $ty),+) -> Self {
                Self {
                    $($field,)+
                    $($($dfield: $default,)+)?
                }
            }
        }
    };
}

pub mod auth;
pub mod availability;
pub mod clock;
pub mod demo;
pub mod dispatch;
pub mod en_route;
pub mod handshake;
pub mod presence;
pub mod principal;
pub mod resync;
pub mod trip_lists;
pub mod trips;
pub mod user_status;
pub mod users;

pub use principal::Principal;
