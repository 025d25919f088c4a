//! Who may act on whom: the one rule every staff action that targets an
//! account goes through (suspend, lift a suspension, record a payment, grant
//! a trial allowance, set limits, delete a customer's data, pause or resume a
//! channel).
//!
//! Staff act on owners only; admins act on owners and staff; nobody acts on
//! an admin from the console, and nobody acts on their own account. In ranks:
//! the actor must be staff and rank strictly above the target.
//!
//! [`may_act_on`] decides from plain values; [`authorize`] loads both roles
//! in the caller's transaction and applies it, so a library action cannot
//! skip it.

use sqlx::PgConnection;
use uuid::Uuid;

use super::accounts::Role;

/// Why an action on an account is refused. Messages are meant for the
/// staff member who tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Actor and target are the same account.
    #[error("You cannot do this to your own account; ask an admin.")]
    Yourself,
    /// The actor is not staff (or no longer exists).
    #[error("Only BikriAgent staff can do this.")]
    NotStaff,
    /// A staff member (not an admin) tried to act on another staff account.
    #[error("Only an admin can do this to a staff account.")]
    NeedsAdmin,
    /// Someone tried to act on an admin account.
    #[error("Admin accounts cannot be changed from the staff console.")]
    AdminTarget,
}

/// How far up an account is: owners, then staff, then admins.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 0,
        Role::Staff => 1,
        Role::Admin => 2,
    }
}

/// Whether the account `actor_id` with `actor_role` may act on the account
/// `target_id` with `target_role`.
pub fn may_act_on(actor_role: Role, actor_id: Uuid, target_role: Role, target_id: Uuid) -> Result<(), Refusal> {
    if actor_id == target_id {
        return Err(Refusal::Yourself);
    }
    if !actor_role.is_staff() {
        return Err(Refusal::NotStaff);
    }
    if rank(actor_role) > rank(target_role) {
        return Ok(());
    }
    Err(match target_role {
        Role::Admin => Refusal::AdminTarget,
        _ => Refusal::NeedsAdmin,
    })
}

/// Why [`authorize`] said no.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// The target account does not exist.
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Loads the roles of `actor` and `target` and applies [`may_act_on`];
/// returns the target's role. Run it first in the action's transaction: it
/// locks the target's row (`for no key update`, the lock the action's own
/// update takes anyway) until that transaction ends, so staff actions on one
/// account run one after another instead of deadlocking on a lock upgrade.
pub async fn authorize(conn: &mut PgConnection, actor: Uuid, target: Uuid) -> Result<Role, AuthorityError> {
    let target_role: Option<String> = sqlx::query_scalar("select role from accounts where id = $1 for no key update")
        .bind(target)
        .fetch_optional(&mut *conn)
        .await?;
    let target_role = target_role
        .as_deref()
        .and_then(Role::parse)
        .ok_or(AuthorityError::NotFound)?;
    let actor_role: Option<String> = sqlx::query_scalar("select role from accounts where id = $1")
        .bind(actor)
        .fetch_optional(&mut *conn)
        .await?;
    // An actor that does not exist is treated like an owner: not staff.
    let actor_role = actor_role.as_deref().and_then(Role::parse).unwrap_or(Role::Owner);
    may_act_on(actor_role, actor, target_role, target)?;
    Ok(target_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 3] = [Role::Owner, Role::Staff, Role::Admin];

    #[test]
    fn staff_act_on_owners_only() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(may_act_on(Role::Staff, me, Role::Owner, other), Ok(()));
        assert_eq!(
            may_act_on(Role::Staff, me, Role::Staff, other),
            Err(Refusal::NeedsAdmin)
        );
        assert_eq!(
            may_act_on(Role::Staff, me, Role::Admin, other),
            Err(Refusal::AdminTarget)
        );
    }

    #[test]
    fn admins_act_on_owners_and_staff_but_not_on_admins() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(may_act_on(Role::Admin, me, Role::Owner, other), Ok(()));
        assert_eq!(may_act_on(Role::Admin, me, Role::Staff, other), Ok(()));
        assert_eq!(
            may_act_on(Role::Admin, me, Role::Admin, other),
            Err(Refusal::AdminTarget)
        );
    }

    #[test]
    fn owners_act_on_nobody() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        for target in ROLES {
            assert_eq!(
                may_act_on(Role::Owner, me, target, other),
                Err(Refusal::NotStaff),
                "{target:?}"
            );
        }
    }

    #[test]
    fn nobody_acts_on_themselves() {
        let me = Uuid::new_v4();
        for role in ROLES {
            assert_eq!(may_act_on(role, me, role, me), Err(Refusal::Yourself), "{role:?}");
        }
    }

    #[test]
    fn exactly_three_pairs_are_allowed() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let allowed = [
            (Role::Staff, Role::Owner),
            (Role::Admin, Role::Owner),
            (Role::Admin, Role::Staff),
        ];
        for actor in ROLES {
            for target in ROLES {
                assert_eq!(
                    may_act_on(actor, me, target, other).is_ok(),
                    allowed.contains(&(actor, target)),
                    "{actor:?} on {target:?}"
                );
            }
        }
    }
}
