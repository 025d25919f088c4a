//! Typed states: each Rust enum and its PostgreSQL enum type hold the same
//! values in the same order, every value goes to the database and back as
//! itself, JSON keeps the stored names, and the columns hold the types.

use bikriagent::audit::AuditKind;
use bikriagent::channels::{ChannelPlatform, ChannelStatus};
use bikriagent::conversations::{ConversationMode, MessageAuthor, ReviewReason};
use bikriagent::meta::graph::Platform;
use bikriagent::sending::{Author, SendState};
use sqlx::PgPool;

use crate::helpers::TestDb;

/// The values of a database enum type, in its order.
async fn labels(pool: &PgPool, type_name: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("select enum_range(null::{type_name})::text[]"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Checks one Rust enum against its database type: the same names in the
/// same order (`exact`) or a subset of them, each bound as a parameter and
/// read back as itself, cast from its name in SQL, and written to JSON as
/// that name.
macro_rules! check {
    ($pool:expr, $ty:ty, $type_name:literal, exact) => {{
        let names: Vec<&str> = <$ty>::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(
            labels($pool, $type_name).await,
            names,
            "{} against {}",
            stringify!($ty),
            $type_name
        );
        check!($pool, $ty, $type_name, <$ty>::ALL.iter().copied());
    }};
    ($pool:expr, $ty:ty, $type_name:literal, $values:expr) => {{
        let stored = labels($pool, $type_name).await;
        for value in $values {
            let value: $ty = value;
            assert!(
                stored.iter().any(|name| name == value.as_str()),
                "{value} is a {}",
                $type_name
            );
            // One statement text per type: sqlx caches a statement with the
            // parameter types it was first prepared with.
            let back: $ty = sqlx::query_scalar(&format!("select $1::{}", $type_name))
                .bind(value)
                .fetch_one($pool)
                .await
                .unwrap();
            assert_eq!(back, value, "bound and read back");
            let cast: $ty = sqlx::query_scalar(&format!("select '{}'::{}", value.as_str(), $type_name))
                .fetch_one($pool)
                .await
                .unwrap();
            assert_eq!(cast, value, "read from its name");
            let text: String = sqlx::query_scalar(&format!("select $1::{}::text", $type_name))
                .bind(value)
                .fetch_one($pool)
                .await
                .unwrap();
            assert_eq!(text, value.as_str());
            assert_eq!(
                serde_json::to_value(value).unwrap(),
                value.as_str(),
                "JSON keeps the stored name"
            );
            assert_eq!(<$ty>::parse(value.as_str()), Some(value));
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_typed_state_matches_its_database_type() {
    let db = TestDb::new().await;
    let pool = &db.admin_pool().await;
    check!(pool, SendState, "send_state", exact);
    check!(pool, ConversationMode, "conversation_mode", exact);
    check!(pool, ChannelStatus, "channel_status", exact);
    check!(pool, ChannelPlatform, "channel_platform", exact);
    check!(pool, MessageAuthor, "message_author", exact);
    check!(pool, ReviewReason, "review_reason", exact);
    check!(pool, AuditKind, "audit_kind", exact);
    // The narrower views of two of the types.
    check!(pool, Platform, "channel_platform", Platform::ALL);
    check!(pool, Author, "message_author", Author::ALL.iter().copied());
    for platform in Platform::ALL {
        assert_eq!(ChannelPlatform::from(platform).meta(), Some(platform));
    }
    assert_eq!(ChannelPlatform::Sandbox.meta(), None);
    for author in Author::ALL {
        assert_eq!(MessageAuthor::from(*author).as_str(), author.as_str());
    }
    assert_eq!(ConversationMode::parse("robot"), None);
    assert_eq!(AuditKind::parse(""), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_columns_hold_their_types_and_refuse_other_values() {
    let db = TestDb::new().await;
    let pool = &db.admin_pool().await;
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, udt_name::text from information_schema.columns \
          where table_schema = 'public' and udt_name in ('send_state', 'conversation_mode', 'channel_status', \
                'channel_platform', 'message_author', 'review_reason', 'audit_kind') \
          order by 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let columns: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|(t, c, u)| (t.as_str(), c.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("channels", "platform", "channel_platform"),
            ("channels", "status", "channel_status"),
            ("conversations", "mode", "conversation_mode"),
            ("inbound_messages", "platform", "channel_platform"),
            ("messages", "author", "message_author"),
            ("outbound_sends", "author", "message_author"),
            ("outbound_sends", "state", "send_state"),
            ("review_items", "reason", "review_reason"),
            ("security_events", "kind", "audit_kind"),
        ]
    );
    let refused = sqlx::query("insert into security_events (kind) values ('no_such_kind')")
        .execute(pool)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("invalid input value for enum audit_kind"),
        "{refused}"
    );
    // A Rust string bound where the type is wanted fails at once, not silently.
    let text = sqlx::query("select count(*) from channels where status = $1")
        .bind("connected")
        .execute(pool)
        .await
        .unwrap_err();
    assert!(text.to_string().contains("operator does not exist"), "{text}");
}
