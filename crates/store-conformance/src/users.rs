//! [`UserRepository`](rodando_ports::users::UserRepository): lookups, the three uniqueness rules
//! (in the port's order, writing nothing on conflict) and status changes.

use rodando_domain::user::{Email, User, UserStatus, UserType};
use rodando_ports::users::InsertUserError;
use tokio::task::JoinSet;

use crate::Ports;
use crate::fixtures::{new_user, ok};

async fn insert(ports: &Ports, user: &User) {
    if let Err(e) = ports.users.insert(user).await {
        panic!("inserting {:?} failed: {e:?}", user.id);
    }
}

/// Asserts that the refused `user` left no trace (by id, e-mail or phone, wherever it differs
/// from `original`) and that `original` is unchanged.
async fn assert_not_stored(ports: &Ports, user: &User, original: &User) {
    let by_id = ok(ports.users.find_by_id(user.id).await);
    assert!(
        user.id == original.id || by_id.is_none(),
        "the refused user was written (by id)"
    );
    if user.email != original.email {
        assert_eq!(ok(ports.users.find_by_email(&user.email).await), None);
    }
    if let Some(phone) = &user.phone
        && Some(phone) != original.phone.as_ref()
    {
        assert_eq!(ok(ports.users.find_by_phone(phone).await), None);
    }
    assert_eq!(
        ok(ports.users.find_by_id(original.id).await).as_ref(),
        Some(original),
        "the stored user changed"
    );
}

/// A stored user is found by id, e-mail and phone, with every field as written.
pub async fn a_user_is_found_by_id_email_and_phone_with_every_field(ports: Ports) {
    let mut user = new_user(UserType::Admin);
    user.status = UserStatus::Inactive;
    insert(&ports, &user).await;
    let phone = user.phone.clone();

    assert_eq!(
        ok(ports.users.find_by_id(user.id).await),
        Some(user.clone())
    );
    assert_eq!(
        ok(ports.users.find_by_email(&user.email).await),
        Some(user.clone())
    );
    if let Some(phone) = phone {
        assert_eq!(ok(ports.users.find_by_phone(&phone).await), Some(user));
    }
}

/// Lookups of what was never stored answer `None`.
pub async fn unknown_users_are_not_found(ports: Ports) {
    insert(&ports, &new_user(UserType::Driver)).await;
    let stranger = new_user(UserType::Driver);

    assert_eq!(ok(ports.users.find_by_id(stranger.id).await), None);
    assert_eq!(ok(ports.users.find_by_email(&stranger.email).await), None);
    if let Some(phone) = &stranger.phone {
        assert_eq!(ok(ports.users.find_by_phone(phone).await), None);
    }
}

/// Another user with the same e-mail, phone number or id is refused with `DuplicateEmail`,
/// `DuplicatePhone` or `DuplicateId`, and nothing of it is written.
pub async fn a_taken_email_phone_or_id_is_refused_and_nothing_is_written(ports: Ports) {
    type Share = fn(&User, &mut User);
    let cases: [(UserType, Share, InsertUserError); 3] = [
        (
            UserType::Driver,
            |first, second| second.email = first.email.clone(),
            InsertUserError::DuplicateEmail,
        ),
        (
            UserType::Passenger,
            |first, second| second.phone = first.phone.clone(),
            InsertUserError::DuplicatePhone,
        ),
        (
            UserType::Driver,
            |first, second| second.id = first.id,
            InsertUserError::DuplicateId,
        ),
    ];
    for (second_type, share, expected) in cases {
        let first = new_user(UserType::Passenger);
        insert(&ports, &first).await;
        let mut second = new_user(second_type);
        share(&first, &mut second);

        let result = ports.users.insert(&second).await;

        assert!(
            result
                .as_ref()
                .is_err_and(|e| std::mem::discriminant(e) == std::mem::discriminant(&expected)),
            "{result:?}, not {expected:?}"
        );
        assert_not_stored(&ports, &second, &first).await;
    }
}

/// When several rules break at once, the e-mail is reported first, then the phone, then the id.
pub async fn uniqueness_is_checked_email_first_then_phone_then_id(ports: Ports) {
    let first = new_user(UserType::Passenger);
    insert(&ports, &first).await;

    let everything = ports.users.insert(&first.clone()).await;
    assert!(
        matches!(everything, Err(InsertUserError::DuplicateEmail)),
        "{everything:?}"
    );

    let mut phone_and_id = new_user(UserType::Passenger);
    phone_and_id.id = first.id;
    phone_and_id.phone = first.phone.clone();
    let result = ports.users.insert(&phone_and_id).await;
    assert!(
        matches!(result, Err(InsertUserError::DuplicatePhone)),
        "{result:?}"
    );
    assert_not_stored(&ports, &phone_and_id, &first).await;
}

/// The phone is optional, and two users without one are both stored.
pub async fn users_without_a_phone_do_not_collide(ports: Ports) {
    let mut a = new_user(UserType::Passenger);
    let mut b = new_user(UserType::Passenger);
    a.phone = None;
    b.phone = None;

    insert(&ports, &a).await;
    insert(&ports, &b).await;

    assert_eq!(ok(ports.users.find_by_id(a.id).await), Some(a));
    assert_eq!(ok(ports.users.find_by_id(b.id).await), Some(b));
}

/// Ten users racing for one e-mail: one is stored, nine get `DuplicateEmail`.
pub async fn of_concurrent_inserts_of_one_email_exactly_one_succeeds(ports: Ports) {
    let email = match Email::parse("race@rodando.test") {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let mut racers = JoinSet::new();
    for _ in 0..10 {
        let mut user = new_user(UserType::Passenger);
        user.email = email.clone();
        let ports = ports.clone();
        racers.spawn(async move { (ports.users.insert(&user).await, user) });
    }
    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            (Ok(()), user) => winners.push(user),
            (Err(InsertUserError::DuplicateEmail), _) => {}
            (Err(e), _) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        ok(ports.users.find_by_email(&email).await).as_ref(),
        winners.first()
    );
}

/// `set_status` changes only the status, and answers whether the user exists.
pub async fn set_status_changes_the_status_and_tells_whether_the_user_exists(ports: Ports) {
    let user = new_user(UserType::Driver);
    insert(&ports, &user).await;

    assert!(ok(ports
        .users
        .set_status(user.id, UserStatus::Banned)
        .await));
    let stored = ok(ports.users.find_by_id(user.id).await);
    assert_eq!(
        stored,
        Some(User {
            status: UserStatus::Banned,
            ..user.clone()
        })
    );

    assert!(ok(ports
        .users
        .set_status(user.id, UserStatus::Active)
        .await));
    assert_eq!(ok(ports.users.find_by_id(user.id).await), Some(user));

    let stranger = new_user(UserType::Driver);
    assert!(!ok(ports
        .users
        .set_status(stranger.id, UserStatus::Banned)
        .await));
    assert_eq!(ok(ports.users.find_by_id(stranger.id).await), None);
}
