//! Every Socket.IO event name of the contract (PROTOCOL §3–§8), and which namespace hears or
//! sends it. This list is authoritative: the socket adapter names events only through these
//! constants, and a test checks that `docs/asyncapi.yaml` publishes each one on the channel of
//! each namespace listed here.
//!
//! Old clients' aliases are payload aliases (`{lat, lng}`, `{isOnline, isAvailableForTrips}`,
//! `{currentTripId}`), read by the parsers of [`crate::availability`]; no event name has an
//! alias.

use rodando_domain::admission::Namespace;

// ---- Client → server ------------------------------------------------------------------------

/// Any namespace: `{accessToken}` extends the socket's life with a fresh token of the same
/// session; ack `{ok, accessTokenExpiresAt}`.
pub const AUTH_REFRESH: &str = "auth:refresh";
/// `/drivers`: `{availabilityStatus}` (or `{isOnline, isAvailableForTrips}`).
pub const DRIVER_STATUS_UPDATE: &str = "driver:status:update";
/// `/drivers`: a position fix.
pub const DRIVER_LOCATION_PING: &str = "driver:location:ping";
/// `/drivers`: `{tripId | null}` (or `{currentTripId}`).
pub const DRIVER_TRIP_SET: &str = "driver:trip:set";
/// `/drivers`: accept an open offer `{assignmentId}`.
pub const DRIVER_OFFER_ACCEPT: &str = "driver:offer:accept";
/// `/drivers`: reject an open offer `{assignmentId, reason?}`.
pub const DRIVER_OFFER_REJECT: &str = "driver:offer:reject";
/// `/passengers`: request a trip (the body of `POST /api/trips`).
pub const TRIP_REQUEST: &str = "trip:request";
/// `/passengers`: cancel one's trip `{tripId, reason?}`.
pub const TRIP_CANCEL: &str = "trip:cancel";
/// `/passengers`, `/drivers`, `/admin`: `{tripId}` answers the trip as stored now and its latest
/// `seq` (a client that reconnected or found a gap in a trip's `seq`).
pub const TRIP_SYNC: &str = "trip:sync";
/// `/admin`: every online driver's snapshot, for a dashboard's first paint.
pub const ADMIN_DRIVERS_SNAPSHOT: &str = "admin:drivers:snapshot";
/// `/admin`: every trip in flight (at most 500), for a dashboard's first paint; `{watch: true}`
/// also joins their rooms.
pub const ADMIN_TRIPS_SNAPSHOT: &str = "admin:trips:snapshot";
/// `/admin`: join the room of a trip `{tripId}`.
pub const ADMIN_TRIP_WATCH: &str = "admin:trip:watch";
/// `/admin`: leave the room of a trip `{tripId}`.
pub const ADMIN_TRIP_UNWATCH: &str = "admin:trip:unwatch";

// ---- Server → client ------------------------------------------------------------------------

/// Once, right after admission: who the socket is.
pub const HELLO: &str = "hello";
/// After every failed inbound event, for clients that sent no ack.
pub const EXCEPTION: &str = "exception";
/// To a session's sockets: a message from the server's own services.
pub const NOTIFICATION: &str = "notification";
/// The socket's access token expired; it is disconnected next.
pub const AUTH_TOKEN_EXPIRED: &str = "auth:token_expired";
/// The session was revoked (logout, theft detection); its sockets are disconnected next.
pub const AUTH_SESSION_REVOKED: &str = "auth:session_revoked";
/// The session's tokens were rotated by `POST /api/auth/refresh`.
pub const AUTH_SESSION_REFRESHED: &str = "auth:session_refreshed";
/// A driver's full availability snapshot changed.
pub const DRIVER_AVAILABILITY_UPDATE: &str = "driver:availability:update";
/// A driver's position changed.
pub const DRIVER_LOCATION_UPDATE: &str = "driver:location:update";
/// A driver's current trip changed.
pub const DRIVER_TRIP_UPDATE: &str = "driver:trip:update";
/// A passenger requested a trip (also to every `/admin` socket, room `admin:trips`).
pub const TRIP_REQUESTED: &str = "trip:requested";
/// Dispatch made its first offer.
pub const TRIP_ASSIGNING_STARTED: &str = "trip:assigning_started";
/// To the offered driver only: a trip to accept or reject before `expiresAt`.
pub const TRIP_ASSIGNMENT_OFFERED: &str = "trip:assignment:offered";
/// An offer was accepted.
pub const TRIP_ASSIGNMENT_ACCEPTED: &str = "trip:assignment:accepted";
/// An offer was rejected.
pub const TRIP_ASSIGNMENT_REJECTED: &str = "trip:assignment:rejected";
/// An offer expired unanswered.
pub const TRIP_ASSIGNMENT_EXPIRED: &str = "trip:assignment:expired";
/// Dispatch gave up.
pub const TRIP_NO_DRIVERS_FOUND: &str = "trip:no_drivers_found";
/// A driver holds the trip.
pub const TRIP_DRIVER_ASSIGNED: &str = "trip:driver_assigned";
/// The driver is on the way to the pickup, with an ETA.
pub const TRIP_ARRIVING_STARTED: &str = "trip:arriving_started";
/// The assigned driver's position, distance and ETA while the trip is arriving or in progress
/// (a position stream: at most one per trip per second, to the passenger and watching admins).
pub const TRIP_DRIVER_EN_ROUTE: &str = "trip:driver_en_route";
/// The driver reached the pickup.
pub const TRIP_DRIVER_ARRIVED_PICKUP: &str = "trip:driver_arrived_pickup";
/// The ride started.
pub const TRIP_STARTED: &str = "trip:started";
/// The ride ended, with the fare.
pub const TRIP_COMPLETED: &str = "trip:completed";
/// The trip was cancelled (to a driver whose open offer was withdrawn, too).
pub const TRIP_CANCELLED: &str = "trip:cancelled";

// ---- Per namespace --------------------------------------------------------------------------

/// One bit per namespace, to say where an event is heard or sent.
const D: u8 = 1 << Namespace::Drivers as u8;
const P: u8 = 1 << Namespace::Passengers as u8;
const A: u8 = 1 << Namespace::Admin as u8;
const EVERY: u8 = D | P | A;

/// Every client → server event, with the namespaces that handle it.
const HEARD_ON: [(&str, u8); 13] = [
    (AUTH_REFRESH, EVERY),
    (DRIVER_STATUS_UPDATE, D),
    (DRIVER_LOCATION_PING, D),
    (DRIVER_TRIP_SET, D),
    (DRIVER_OFFER_ACCEPT, D),
    (DRIVER_OFFER_REJECT, D),
    (TRIP_REQUEST, P),
    (TRIP_CANCEL, P),
    (TRIP_SYNC, EVERY),
    (ADMIN_DRIVERS_SNAPSHOT, A),
    (ADMIN_TRIPS_SNAPSHOT, A),
    (ADMIN_TRIP_WATCH, A),
    (ADMIN_TRIP_UNWATCH, A),
];

/// Every server → client event, with the namespaces whose sockets may receive it. Drivers get
/// the fleet broadcasts about themselves, their offers and the trip they hold; passengers every
/// event of their own trips but offers (only the offered driver sees one); admins the fleet
/// broadcasts, every new trip and every event of watched trips.
const SENT_ON: [(&str, u8); 23] = [
    (HELLO, EVERY),
    (EXCEPTION, EVERY),
    (NOTIFICATION, EVERY),
    (AUTH_TOKEN_EXPIRED, EVERY),
    (AUTH_SESSION_REVOKED, EVERY),
    (AUTH_SESSION_REFRESHED, EVERY),
    (DRIVER_AVAILABILITY_UPDATE, D | A),
    (DRIVER_LOCATION_UPDATE, D | A),
    (DRIVER_TRIP_UPDATE, D | A),
    (TRIP_REQUESTED, P | A),
    (TRIP_ASSIGNING_STARTED, P | A),
    (TRIP_ASSIGNMENT_OFFERED, D),
    (TRIP_ASSIGNMENT_ACCEPTED, EVERY),
    (TRIP_ASSIGNMENT_REJECTED, EVERY),
    (TRIP_ASSIGNMENT_EXPIRED, EVERY),
    (TRIP_NO_DRIVERS_FOUND, P | A),
    (TRIP_DRIVER_ASSIGNED, EVERY),
    (TRIP_ARRIVING_STARTED, EVERY),
    (TRIP_DRIVER_EN_ROUTE, P | A),
    (TRIP_DRIVER_ARRIVED_PICKUP, EVERY),
    (TRIP_STARTED, EVERY),
    (TRIP_COMPLETED, EVERY),
    (TRIP_CANCELLED, EVERY),
];

/// How many events of `table` namespaces `on` (one bit) hear or get.
const fn count(table: &[(&str, u8)], on: u8) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < table.len() {
        if table[i].1 & on != 0 {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The names of the `N` events of `table` that namespaces `on` hear or get, in table order
/// (`on` = [`EVERY`]: all of them).
const fn pick<const N: usize>(table: &[(&'static str, u8)], on: u8) -> [&'static str; N] {
    let mut names = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < table.len() {
        if table[i].1 & on != 0 {
            names[n] = table[i].0;
            n += 1;
        }
        i += 1;
    }
    assert!(n == N, "N must be count(table, on)");
    names
}

/// The events of `table` that namespaces `on` hear or get, as a static list.
macro_rules! on {
    ($table:ident, $on:expr) => {
        &pick::<{ count(&$table, $on) }>(&$table, $on)
    };
}

/// The events one namespace accepts and the events its sockets may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceEvents {
    /// The namespace.
    pub namespace: Namespace,
    /// Client → server events handled there (each answered by an ack).
    pub inbound: &'static [&'static str],
    /// Server → client events its sockets may receive.
    pub outbound: &'static [&'static str],
}

/// `/drivers`: availability commands and offer answers in; its own availability, its offers
/// and the events of the trip it holds out.
pub const DRIVERS: NamespaceEvents = NamespaceEvents {
    namespace: Namespace::Drivers,
    inbound: on!(HEARD_ON, D),
    outbound: on!(SENT_ON, D),
};

/// `/passengers`: trip requests and cancels in; every event of its own trips out (never an
/// offer, which only the offered driver sees).
pub const PASSENGERS: NamespaceEvents = NamespaceEvents {
    namespace: Namespace::Passengers,
    inbound: on!(HEARD_ON, P),
    outbound: on!(SENT_ON, P),
};

/// `/admin`: fleet snapshot and trip watching in; every driver broadcast (room
/// `admin:drivers`), every new trip (room `admin:trips`) and every event of watched trips out.
pub const ADMIN: NamespaceEvents = NamespaceEvents {
    namespace: Namespace::Admin,
    inbound: on!(HEARD_ON, A),
    outbound: on!(SENT_ON, A),
};

/// The three namespaces, in [`Namespace::ALL`] order.
pub const NAMESPACES: [NamespaceEvents; 3] = [DRIVERS, PASSENGERS, ADMIN];

/// Every client → server event, each once.
pub const INBOUND: &[&str] = on!(HEARD_ON, EVERY);

/// Every server → client event, each once.
pub const OUTBOUND: &[&str] = on!(SENT_ON, EVERY);

/// The events of `namespace`.
pub const fn of(namespace: Namespace) -> &'static NamespaceEvents {
    match namespace {
        Namespace::Drivers => &DRIVERS,
        Namespace::Passengers => &PASSENGERS,
        Namespace::Admin => &ADMIN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
        names.iter().copied().collect()
    }

    #[test]
    fn every_list_names_each_event_once() {
        for list in [INBOUND, OUTBOUND] {
            assert_eq!(set(list).len(), list.len(), "{list:?}");
        }
        for ns in NAMESPACES {
            assert_eq!(set(ns.inbound).len(), ns.inbound.len(), "{ns:?}");
            assert_eq!(set(ns.outbound).len(), ns.outbound.len(), "{ns:?}");
        }
    }

    #[test]
    fn the_flat_lists_are_exactly_the_union_of_the_namespaces() {
        let inbound: BTreeSet<_> = NAMESPACES.iter().flat_map(|n| n.inbound).copied().collect();
        let outbound: BTreeSet<_> = NAMESPACES
            .iter()
            .flat_map(|n| n.outbound)
            .copied()
            .collect();
        assert_eq!(inbound, set(INBOUND));
        assert_eq!(outbound, set(OUTBOUND));
        assert!(inbound.is_disjoint(&outbound), "a name is either in or out");
    }

    #[test]
    fn namespaces_follow_the_domain_order() {
        for (events, namespace) in NAMESPACES.iter().zip(Namespace::ALL) {
            assert_eq!(events.namespace, namespace);
            assert_eq!(of(namespace), events);
        }
    }

    #[test]
    fn offers_reach_drivers_only_and_new_trips_reach_admins() {
        for ns in [PASSENGERS, ADMIN] {
            assert!(!ns.outbound.contains(&TRIP_ASSIGNMENT_OFFERED));
        }
        assert!(DRIVERS.outbound.contains(&TRIP_ASSIGNMENT_OFFERED));
        assert!(ADMIN.outbound.contains(&TRIP_REQUESTED));
        assert!(!DRIVERS.outbound.contains(&TRIP_REQUESTED));
        // The en-route stream is for the passenger and watching admins, not the driver.
        assert!(PASSENGERS.outbound.contains(&TRIP_DRIVER_EN_ROUTE));
        assert!(ADMIN.outbound.contains(&TRIP_DRIVER_EN_ROUTE));
        assert!(!DRIVERS.outbound.contains(&TRIP_DRIVER_EN_ROUTE));
        // Session-wide events reach a session's sockets in whatever namespace they are.
        let session_wide = [
            HELLO,
            EXCEPTION,
            NOTIFICATION,
            AUTH_TOKEN_EXPIRED,
            AUTH_SESSION_REVOKED,
            AUTH_SESSION_REFRESHED,
        ];
        for ns in NAMESPACES {
            assert!(ns.inbound.contains(&AUTH_REFRESH), "{ns:?}");
            for name in session_wide {
                assert!(ns.outbound.contains(&name), "{name} on {ns:?}");
            }
        }
    }
}
