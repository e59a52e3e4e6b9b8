//! [`SessionRepository`](rodando_ports::sessions::SessionRepository): storage, compare-and-set
//! rotation (one winner among concurrent refreshes), revocation and access extension.

use rodando_domain::ids::SessionId;
use rodando_domain::session::{RevokeReason, Session, SessionType};
use rodando_domain::user::AppAudience;
use rodando_ports::sessions::{RotateOutcome, Rotation};
use time::Duration;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::Ports;
use crate::fixtures::{T0, at, new_session, new_stored_session, ok};

fn rotation(seconds_after_t0: i64) -> Rotation {
    let now = at(seconds_after_t0);
    Rotation {
        new_refresh_jti: Uuid::new_v4(),
        access_expires_at: now + Duration::minutes(15),
        refresh_expires_at: now + Duration::days(7),
        at: now,
    }
}

async fn stored(ports: &Ports, id: SessionId) -> Session {
    match ok(ports.sessions.find(id).await) {
        Some(s) => s,
        None => panic!("session {id} is gone"),
    }
}

/// Every field of a session, revoked or not, reads back as written.
pub async fn a_session_round_trips_every_field(ports: Ports) {
    let live = new_stored_session(&ports).await;
    assert_eq!(stored(&ports, live.id).await, live);

    let mut ended = new_session(live.user_id);
    ended.session_type = SessionType::Web;
    ended.app_audience = AppAudience::AdminPanel;
    ended.revoked_at = Some(at(42) + Duration::microseconds(1));
    ended.revoke_reason = Some(RevokeReason::RefreshTokenReuse);
    ended.device_info = None;
    ok(ports.sessions.insert(&ended).await);
    assert_eq!(stored(&ports, ended.id).await, ended);

    assert_eq!(
        ok(ports
            .sessions
            .find(SessionId::from_uuid(Uuid::new_v4()))
            .await),
        None
    );
}

/// A second insert with the same id fails and changes nothing.
pub async fn a_session_id_cannot_be_inserted_twice(ports: Ports) {
    let session = new_stored_session(&ports).await;
    let mut again = session.clone();
    again.refresh_jti = Uuid::new_v4();

    assert!(ports.sessions.insert(&again).await.is_err());
    assert_eq!(stored(&ports, session.id).await, session);
}

/// A rotation with the current jti replaces the jti, both expiries and the last activity.
pub async fn rotate_swaps_the_refresh_jti_and_the_expiries(ports: Ports) {
    let session = new_stored_session(&ports).await;
    let r = rotation(60);

    let outcome = ok(ports
        .sessions
        .rotate(session.id, session.refresh_jti, &r)
        .await);

    assert_eq!(outcome, RotateOutcome::Rotated);
    assert_eq!(
        stored(&ports, session.id).await,
        Session {
            refresh_jti: r.new_refresh_jti,
            access_expires_at: r.access_expires_at,
            refresh_expires_at: r.refresh_expires_at,
            last_activity_at: r.at,
            ..session
        }
    );
}

/// The jti the latest rotation replaced: `Superseded` with that rotation's jti and time. An
/// older jti, a revoked session or an unknown session: `Stale`. Nothing written either way.
pub async fn rotate_is_stale_for_an_old_jti_a_revoked_or_a_missing_session(ports: Ports) {
    let session = new_stored_session(&ports).await;
    let first = rotation(60);
    ok(ports
        .sessions
        .rotate(session.id, session.refresh_jti, &first)
        .await);
    let after_first = stored(&ports, session.id).await;

    let replay = ok(ports
        .sessions
        .rotate(session.id, session.refresh_jti, &rotation(61))
        .await);
    assert_eq!(
        replay,
        RotateOutcome::Superseded {
            current_jti: first.new_refresh_jti,
            rotated_at: first.at,
        }
    );
    assert_eq!(stored(&ports, session.id).await, after_first);

    // One rotation further, the first jti is two behind: stale; the second is now the
    // replaced one.
    let second = rotation(61);
    assert_eq!(
        ok(ports
            .sessions
            .rotate(session.id, first.new_refresh_jti, &second)
            .await),
        RotateOutcome::Rotated
    );
    let after_second = stored(&ports, session.id).await;
    let replay = ok(ports
        .sessions
        .rotate(session.id, session.refresh_jti, &rotation(62))
        .await);
    assert_eq!(replay, RotateOutcome::Stale);
    assert_eq!(
        ok(ports
            .sessions
            .rotate(session.id, first.new_refresh_jti, &rotation(62))
            .await),
        RotateOutcome::Superseded {
            current_jti: second.new_refresh_jti,
            rotated_at: second.at,
        }
    );
    assert_eq!(stored(&ports, session.id).await, after_second);

    assert!(ok(ports
        .sessions
        .revoke(session.id, RevokeReason::Logout, at(62))
        .await));
    let revoked = stored(&ports, session.id).await;
    let late = ok(ports
        .sessions
        .rotate(session.id, second.new_refresh_jti, &rotation(63))
        .await);
    assert_eq!(late, RotateOutcome::Stale);
    let late = ok(ports
        .sessions
        .rotate(session.id, first.new_refresh_jti, &rotation(63))
        .await);
    assert_eq!(late, RotateOutcome::Stale);
    assert_eq!(stored(&ports, session.id).await, revoked);

    let missing = SessionId::from_uuid(Uuid::new_v4());
    let outcome = ok(ports
        .sessions
        .rotate(missing, Uuid::new_v4(), &rotation(64))
        .await);
    assert_eq!(outcome, RotateOutcome::Stale);
}

/// Twenty refreshes of one token at once: exactly one rotates, and its jti is the one stored;
/// every other one is told that rotation superseded its token.
pub async fn of_concurrent_rotations_with_one_jti_exactly_one_wins(ports: Ports) {
    let session = new_stored_session(&ports).await;
    let mut racers = JoinSet::new();
    for i in 0..20 {
        let ports = ports.clone();
        let r = rotation(60 + i);
        racers.spawn(async move {
            let outcome = ports
                .sessions
                .rotate(session.id, session.refresh_jti, &r)
                .await;
            (ok(outcome), r)
        });
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    while let Some(joined) = racers.join_next().await {
        let (outcome, r) = ok(joined);
        if outcome == RotateOutcome::Rotated {
            winners.push(r);
        } else {
            losers.push(outcome);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = stored(&ports, session.id).await;
    assert_eq!(
        Some(stored.refresh_jti),
        winners.first().map(|r| r.new_refresh_jti)
    );
    let won = RotateOutcome::Superseded {
        current_jti: stored.refresh_jti,
        rotated_at: stored.last_activity_at,
    };
    assert!(losers.iter().all(|l| *l == won), "{losers:?}");
}

/// The first revocation returns `true` and records when and why; later ones return `false` and
/// change nothing. An unknown session is `false`.
pub async fn revoke_succeeds_once_then_reports_false(ports: Ports) {
    let session = new_stored_session(&ports).await;

    assert!(ok(ports
        .sessions
        .revoke(session.id, RevokeReason::Logout, at(10))
        .await));
    assert!(!ok(ports
        .sessions
        .revoke(session.id, RevokeReason::Admin, at(20))
        .await));

    let revoked = stored(&ports, session.id).await;
    assert_eq!(revoked.revoked_at, Some(at(10)));
    assert_eq!(revoked.revoke_reason, Some(RevokeReason::Logout));
    assert_eq!(
        Session {
            revoked_at: None,
            revoke_reason: None,
            ..revoked
        },
        session
    );
    let missing = SessionId::from_uuid(Uuid::new_v4());
    assert!(!ok(ports
        .sessions
        .revoke(missing, RevokeReason::Admin, at(30))
        .await));
}

/// `extend_access` moves the access expiry forward (never back) and the last activity, on a live
/// session; a revoked or unknown session is `false` and unchanged.
pub async fn extend_access_moves_the_expiry_forward_on_live_sessions_only(ports: Ports) {
    let session = new_stored_session(&ports).await;
    let later = session.access_expires_at + Duration::minutes(5);

    assert!(ok(ports
        .sessions
        .extend_access(session.id, later, at(100))
        .await));
    let extended = stored(&ports, session.id).await;
    assert_eq!(extended.access_expires_at, later);
    assert_eq!(extended.last_activity_at, at(100));

    let earlier = session.access_expires_at - Duration::minutes(5);
    assert!(ok(ports
        .sessions
        .extend_access(session.id, earlier, at(200))
        .await));
    let kept = stored(&ports, session.id).await;
    assert_eq!(kept.access_expires_at, later, "the expiry moved back");
    assert_eq!(kept.last_activity_at, at(200));

    ok(ports
        .sessions
        .revoke(session.id, RevokeReason::Logout, at(300))
        .await);
    let revoked = stored(&ports, session.id).await;
    let far = later + Duration::hours(1);
    assert!(!ok(ports
        .sessions
        .extend_access(session.id, far, at(400))
        .await));
    assert_eq!(stored(&ports, session.id).await, revoked);

    let missing = SessionId::from_uuid(Uuid::new_v4());
    assert!(!ok(ports
        .sessions
        .extend_access(missing, far, at(400))
        .await));
}

/// Live means not revoked and refresh expiry after `now`; other users' sessions are not listed.
pub async fn live_sessions_of_lists_the_unrevoked_unexpired_sessions_of_that_user(ports: Ports) {
    let first = new_stored_session(&ports).await;
    let user = first.user_id;
    let mut second = new_session(user);
    second.created_at = at(1);
    ok(ports.sessions.insert(&second).await);
    let mut expiring = new_session(user);
    expiring.refresh_expires_at = at(3600);
    ok(ports.sessions.insert(&expiring).await);
    let revoked = new_session(user);
    ok(ports.sessions.insert(&revoked).await);
    ok(ports
        .sessions
        .revoke(revoked.id, RevokeReason::Admin, at(5))
        .await);
    let someone_else = new_stored_session(&ports).await;

    let mut live = ok(ports.sessions.live_sessions_of(user, at(60)).await);
    live.sort();
    let mut expected = vec![first.id, second.id, expiring.id];
    expected.sort();
    assert_eq!(live, expected);

    let mut later = ok(ports.sessions.live_sessions_of(user, at(3600)).await);
    later.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(later, expected, "refresh expiry is exclusive");

    assert_eq!(
        ok(ports
            .sessions
            .live_sessions_of(someone_else.user_id, T0)
            .await),
        vec![someone_else.id]
    );
}
