//! Who may use a route, decided from the caller's session alone.
//!
//! The HTTP layer keeps one table of every route with its [`Audience`];
//! this module decides, for a caller, whether the audience admits them and
//! if not, what they should be told. Pure: tests walk every audience ×
//! caller pair without HTTP.

use std::net::IpAddr;

use crate::auth::accounts::Role;

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, signed in or not (login, signup, public pages).
    Anyone,
    /// Not a session at all: the handler checks a signature (Meta, Stripe)
    /// or serves public files. Listed so the table names every route.
    Machine,
    /// Any signed-in account; staff only after their second factor.
    Authenticated,
    /// A signed-in owner.
    Owner,
    /// A signed-in owner who confirmed their email address.
    VerifiedOwner,
    /// Staff or admin who passed their password, second factor or not
    /// (the second-factor pages themselves).
    StaffPassword,
    /// Staff or admin after their second factor.
    Staff,
    /// An admin after their second factor.
    Admin,
}

/// What the session says about the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caller {
    /// `None` when nobody is signed in.
    pub role: Option<Role>,
    pub second_factor: bool,
    pub email_verified: bool,
}

/// The answer for a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// Nobody is signed in: log in first.
    LogIn,
    /// Staff who have not passed their second factor yet.
    SecondFactor,
    /// An owner who has not confirmed their email address yet.
    ConfirmEmail,
    /// Signed in, but this account's role may not use the route.
    Forbidden,
}

impl Audience {
    /// Whether `caller` may use a route for this audience, and if not, why.
    pub fn admit(self, caller: Caller) -> Admission {
        use Admission::*;
        let staff = caller.role.is_some_and(Role::is_staff);
        let owner = caller.role == Some(Role::Owner);
        match (self, caller.role) {
            (Audience::Anyone | Audience::Machine, _) => Admit,
            (_, None) => LogIn,
            (Audience::Authenticated, Some(_)) if staff && !caller.second_factor => SecondFactor,
            (Audience::Authenticated, Some(_)) => Admit,
            (Audience::Owner, _) if owner => Admit,
            (Audience::VerifiedOwner, _) if owner && caller.email_verified => Admit,
            (Audience::VerifiedOwner, _) if owner => ConfirmEmail,
            (Audience::Owner | Audience::VerifiedOwner, _) => Forbidden,
            (Audience::StaffPassword, _) if staff => Admit,
            (Audience::Staff, _) if staff && caller.second_factor => Admit,
            (Audience::Admin, Some(Role::Admin)) if caller.second_factor => Admit,
            (Audience::Staff | Audience::Admin, _) if staff && !caller.second_factor => SecondFactor,
            (Audience::StaffPassword | Audience::Staff | Audience::Admin, _) => Forbidden,
        }
    }
}

/// The key a per-IP limit counts under: the address itself for IPv4, the
/// /64 network for IPv6 (one customer line gets a whole /64, so counting
/// single v6 addresses would let one client rotate through billions).
pub fn ip_limit_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANON: Caller = Caller {
        role: None,
        second_factor: false,
        email_verified: false,
    };

    fn caller(role: Role, second_factor: bool, email_verified: bool) -> Caller {
        Caller {
            role: Some(role),
            second_factor,
            email_verified,
        }
    }

    #[test]
    fn every_audience_for_every_caller() {
        use Admission::*;
        let owner = caller(Role::Owner, false, true);
        let unverified = caller(Role::Owner, false, false);
        let staff_half = caller(Role::Staff, false, true);
        let staff = caller(Role::Staff, true, true);
        let admin_half = caller(Role::Admin, false, true);
        let admin = caller(Role::Admin, true, true);
        let callers = [ANON, owner, unverified, staff_half, staff, admin_half, admin];
        let table: &[(Audience, [Admission; 7])] = &[
            (Audience::Anyone, [Admit; 7]),
            (Audience::Machine, [Admit; 7]),
            (
                Audience::Authenticated,
                [LogIn, Admit, Admit, SecondFactor, Admit, SecondFactor, Admit],
            ),
            (
                Audience::Owner,
                [LogIn, Admit, Admit, Forbidden, Forbidden, Forbidden, Forbidden],
            ),
            (
                Audience::VerifiedOwner,
                [LogIn, Admit, ConfirmEmail, Forbidden, Forbidden, Forbidden, Forbidden],
            ),
            (
                Audience::StaffPassword,
                [LogIn, Forbidden, Forbidden, Admit, Admit, Admit, Admit],
            ),
            (
                Audience::Staff,
                [LogIn, Forbidden, Forbidden, SecondFactor, Admit, SecondFactor, Admit],
            ),
            (
                Audience::Admin,
                [
                    LogIn,
                    Forbidden,
                    Forbidden,
                    SecondFactor,
                    Forbidden,
                    SecondFactor,
                    Admit,
                ],
            ),
        ];
        for (audience, expected) in table {
            for (caller, want) in callers.iter().zip(expected) {
                assert_eq!(audience.admit(*caller), *want, "{audience:?} for {caller:?}");
            }
        }
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_ipv4_per_address() {
        assert_eq!(ip_limit_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            ip_limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            ip_limit_key("2001:db8:1:2::9")
        );
        assert_ne!(ip_limit_key("2001:db8:1:3::1"), ip_limit_key("2001:db8:1:2::1"));
        assert_eq!(ip_limit_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(ip_limit_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(ip_limit_key(""), "");
    }
}
