//! `bikriagent backup` and `bikriagent restore`: a shop survives the round
//! trip into a fresh database on the same server, ciphertext stays
//! ciphertext in the file, the app serves from the restored copy, and a
//! failed dump never leaves a backup behind.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use bikriagent::clock::OffsetClock;
use bikriagent_server::backup::{self, BackupError, KeyCheck};
use bikriagent_server::cli::{self, Command};
use bikriagent_server::config::Config;
use bikriagent_server::startup::{self, Application};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{
    OWNER_PASSWORD, TestDb, browser, csrf_token, location, random_key, server_url, test_env, with_database,
};
use crate::pipeline::{Shop, shop_with};

const PAGE_TOKEN: &str = "EAAGfakePageToken1000000001";
const KEY_TABLES: [&str; 6] = [
    "accounts",
    "channels",
    "conversations",
    "messages",
    "products",
    "orders",
];
/// What the customer writes; none of it may appear in the backup in clear.
const CUSTOMER_MESSAGES: [&str; 6] = [
    "red cotton saree order korbo",
    "2 ta",
    "amar nam Karim Uddin",
    "01712345678",
    "House 12, Road 5, Dhanmondi, Dhaka city",
    "ha confirm",
];

/// An empty database on the test server (as `createdb` makes it), dropped at the end.
struct EmptyDb {
    name: String,
    url: String,
}

impl EmptyDb {
    async fn new() -> Self {
        let name = format!("bikri_test_{}", Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&server_url())
            .await
            .unwrap();
        sqlx::query(&format!("create database {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = with_database(&server_url(), &name);
        Self { name, url }
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // As TestDb does: a thread with its own runtime, while the test's keeps running.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&server_url()).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&pool)
                        .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A folder of its own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("bikri-backup-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&path).unwrap();
        Self(path)
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The configuration of the binary for `database_url`, with a given data key.
fn config(database_url: &str, key: &str, graph_url: &str) -> Config {
    let mut env = test_env(database_url);
    env.retain(|(name, _)| name != "BIKRI_DATA_KEY");
    env.push(("BIKRI_DATA_KEY".into(), key.to_owned()));
    env.push(("META_GRAPH_URL".into(), graph_url.to_owned()));
    Config::from_vars(env).unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The backup as SQL text: custom-format archives are compressed, so a plain
/// text search of the file alone would prove nothing.
fn archive_as_sql(file: &Path) -> String {
    let bindir = std::env::var("BIKRI_TEST_PG_BINDIR").unwrap_or_else(|_| backup::DEFAULT_PG_BINDIR.to_owned());
    let output = std::process::Command::new(Path::new(&bindir).join("pg_restore"))
        .arg("--file=-")
        .arg(file)
        .output()
        .expect("pg_restore runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A shop whose owner can log in, with an order taken through the pipeline.
async fn busy_shop(key: &str) -> Shop {
    let key = key.to_owned();
    let shop = shop_with(move |env| {
        env.retain(|(name, _)| name != "BIKRI_DATA_KEY");
        env.push(("BIKRI_DATA_KEY".into(), key));
    })
    .await;
    let hasher = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = hasher
        .hash_password(OWNER_PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    sqlx::query("update accounts set password_hash = $1 where id = $2")
        .bind(hash)
        .bind(shop.owner.as_uuid())
        .execute(&shop.db.admin_pool().await)
        .await
        .unwrap();
    for message in CUSTOMER_MESSAGES {
        shop.say("5550012", message).await;
    }
    shop.say("5550077", "red cotton saree dam koto?").await;
    shop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_a_fresh_database_and_the_app_serves_from_it() {
    let key = random_key();
    let shop = busy_shop(&key).await;
    let source = shop.db.admin_pool().await;
    assert_eq!(count(&source, "orders").await, 1, "the order was placed");

    // Back up.
    let folder = TempDir::new();
    let file = folder.0.join("bikriagent.dump");
    let source_config = config(&shop.db.url, &key, &shop.fake.graph_url());
    let made = backup::backup(&source_config, &file).await.unwrap();
    assert_eq!(folder.files(), vec!["bikriagent.dump"], "no temporary file left");
    let metadata = std::fs::metadata(&file).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(made.bytes, metadata.len());
    for table in KEY_TABLES {
        assert_eq!(made.rows[table], count(&source, table).await, "{table} in the summary");
    }
    let summary = made.to_string();
    assert!(summary.contains("messages") && summary.contains("KiB"), "{summary}");

    // Ciphertext only: neither the raw file nor its decompressed SQL holds a
    // token or a customer's words.
    let bytes = std::fs::read(&file).unwrap();
    let sql = archive_as_sql(&file);
    assert!(
        sql.contains("COPY public.messages") && sql.contains("Red Cotton Saree"),
        "the SQL text is the real content, where plain columns do show"
    );
    for secret in std::iter::once(PAGE_TOKEN).chain(CUSTOMER_MESSAGES.iter().copied().filter(|m| m.len() > 5)) {
        assert!(
            !bytes.windows(secret.len()).any(|window| window == secret.as_bytes()),
            "{secret} in the file"
        );
        assert!(!sql.contains(secret), "{secret} in the backup's SQL");
    }

    // Restore into a fresh, empty database on the same server.
    let target = EmptyDb::new().await;
    let target_config = config(&target.url, &key, &shop.fake.graph_url());
    let restored = backup::restore(&target_config, &file).await.unwrap();
    assert_eq!(restored.database, target.name);
    assert_eq!(restored.migrated, 0, "the backup is current");
    assert_eq!(restored.key_check, KeyCheck::Opens);
    assert!(restored.reowned >= 1, "the definer functions are given back");
    assert_eq!(restored.rows, made.rows, "every table has the rows it had");
    let copy = PgPoolOptions::new()
        .max_connections(2)
        .connect(&target.url)
        .await
        .unwrap();
    for table in KEY_TABLES {
        assert_eq!(count(&copy, table).await, count(&source, table).await, "{table}");
    }
    let definer: String =
        sqlx::query_scalar("select proowner::regrole::text from pg_proc where proname = 'channel_holder'")
            .fetch_one(&copy)
            .await
            .unwrap();
    assert_eq!(
        definer, "bikri_definer",
        "SECURITY DEFINER functions keep their restricted owner"
    );

    // Same key, same plaintext, read as the application role (grants and RLS restored).
    let app_pool = bikriagent::db::connect_app_pool(&target.url, 2).await.unwrap();
    let keys = startup::data_keys(&target_config);
    let channel: Uuid = sqlx::query_scalar("select id from channels")
        .fetch_one(&copy)
        .await
        .unwrap();
    let token = bikriagent::channels::token(&app_pool, &keys, shop.owner, channel)
        .await
        .unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&token), PAGE_TOKEN);
    let conversation: Uuid = sqlx::query_scalar(
        "select c.id from conversations c join customers cu on cu.id = c.customer_id where cu.sender_hash = $1",
    )
    .bind(keys.lookup_hash("5550012"))
    .fetch_one(&copy)
    .await
    .unwrap();
    let view = bikriagent::conversations::conversation(&app_pool, &keys, shop.owner, conversation, shop.now())
        .await
        .unwrap();
    let texts: Vec<String> = view.messages.iter().filter_map(|m| m.text.clone()).collect();
    assert!(
        texts.iter().any(|t| t == "House 12, Road 5, Dhanmondi, Dhaka city"),
        "{texts:?}"
    );
    app_pool.close().await;

    // A second restore into the now filled database is refused, and explains.
    let again = backup::restore(&target_config, &file).await.unwrap_err();
    assert!(matches!(again, BackupError::TargetNotEmpty { .. }), "{again}");
    assert!(again.to_string().contains("empty database"), "{again}");
    assert_eq!(count(&copy, "messages").await, made.rows["messages"]);

    // Restored under another key, the data is there but unreadable, and restore says so.
    let elsewhere = EmptyDb::new().await;
    let wrong_key = config(&elsewhere.url, &random_key(), &shop.fake.graph_url());
    let unreadable = backup::restore(&wrong_key, &file).await.unwrap();
    assert_eq!(unreadable.key_check, KeyCheck::DoesNotOpen);
    assert!(unreadable.to_string().contains("WARNING"), "{unreadable}");
    drop(elsewhere);

    // The app runs on the copy: health, the owner's login, a decrypted conversation.
    let app = Application::build_with_clock(
        config(&target.url, &key, &shop.fake.graph_url()),
        Arc::new(OffsetClock::default()),
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(app.run_until(stop_rx));
    let client = browser();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("{base}/api/login"))
        .form(&[
            ("email", "shop@example.com"),
            ("password", OWNER_PASSWORD),
            ("csrf_token", &csrf_token(&login).unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard");
    let page = client
        .get(format!("{base}/inbox/{conversation}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("amar nam Karim Uddin"), "{page}");
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(40), server).await;
    copy.close().await;
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dump_leaves_no_file_and_the_password_never_reaches_the_command_line() {
    let db = TestDb::new().await;
    let bindir = TempDir::new();
    let out = TempDir::new();
    // A pg_dump that records what it was given, writes half a file and fails.
    let fake = bindir.0.join("pg_dump");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         dir=$(dirname \"$0\")\n\
         printf '%s\\n' \"$@\" > \"$dir/args\"\n\
         printf '%s' \"$PGPASSWORD\" > \"$dir/password\"\n\
         for arg in \"$@\"; do case \"$arg\" in --file=*) printf 'PGDMP half' > \"${arg#--file=}\";; esac; done\n\
         echo 'pg_dump: error: connection lost' >&2\n\
         exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let target = out.0.join("bikriagent.dump");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bikriagent"))
        .arg("backup")
        .arg("--to")
        .arg(&target)
        .envs(test_env(&db.url))
        .env("BIKRI_PG_BINDIR", &bindir.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pg_dump failed") && stderr.contains("connection lost"),
        "{stderr}"
    );
    assert!(
        out.files().is_empty(),
        "neither the backup nor a partial file: {:?}",
        out.files()
    );

    let password = db
        .url
        .split("://")
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap();
    let args = std::fs::read_to_string(bindir.0.join("args")).unwrap();
    assert!(!args.contains(password), "{args}");
    assert!(
        args.contains("--format=custom") && args.contains("--snapshot="),
        "{args}"
    );
    assert_eq!(std::fs::read_to_string(bindir.0.join("password")).unwrap(), password);
    assert!(!stderr.contains(password));
}

#[test]
fn backup_and_restore_take_one_file_each() {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        cli::parse(&args(&["backup", "--to", "/var/backups/b.dump"])),
        Ok(Command::Backup {
            to: "/var/backups/b.dump".into()
        })
    );
    assert_eq!(
        cli::parse(&args(&["restore", "--from", "b.dump"])),
        Ok(Command::Restore { from: "b.dump".into() })
    );
    assert!(cli::parse(&args(&["backup"])).unwrap_err().contains("--to FILE"));
    assert!(
        cli::parse(&args(&["backup", "--to"]))
            .unwrap_err()
            .contains("needs a file")
    );
    assert!(
        cli::parse(&args(&["restore", "--force", "b.dump"]))
            .unwrap_err()
            .contains("--force")
    );
    assert!(cli::parse(&args(&["backup", "--to", "a", "--to", "b"])).is_err());
}
