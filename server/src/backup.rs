//! `bikriagent backup` and `bikriagent restore`: the whole database in one
//! file, and back into a fresh database.
//!
//! A backup is `pg_dump --format=custom` of the database, taken as the owner
//! role (the one migrations use), so every table, policy, function and grant
//! is in it. Tokens, message texts and the other encrypted columns are
//! ciphertext in the database and stay ciphertext in the file: nothing here
//! decrypts. The data key is not in the file; without it those values cannot
//! be read, so it must be kept somewhere else.
//!
//! The PostgreSQL programs get the connection through `PG*` environment
//! variables of the child process, never through its command line, where any
//! user of the machine could read the password in `ps`.
//!
//! Restore refuses a database that already has tables (nothing is mixed or
//! overwritten), runs `pg_restore --no-owner --single-transaction`, gives the
//! objects that the dump records under another role (the `SECURITY DEFINER`
//! functions of `bikri_definer`) back to that role, then applies migrations.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bikriagent::db::{self, DbError};
use bikriagent::tenancy::OwnerId;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;

use crate::config::Config;
use crate::startup;

/// Where the PostgreSQL client programs are looked for last (Debian's PostgreSQL 15).
pub const DEFAULT_PG_BINDIR: &str = "/usr/lib/postgresql/15/bin";

/// The variable naming the folder of `pg_dump` and `pg_restore` (before `PATH`).
pub const PG_BINDIR_VAR: &str = "BIKRI_PG_BINDIR";

/// Rows per table, by table name.
pub type RowCounts = BTreeMap<String, i64>;

/// Why a backup or a restore did not happen. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "{tool} was not found: set {PG_BINDIR_VAR} to the folder of PostgreSQL's client programs, put them \
         on PATH, or install them (apt-get install postgresql-client-15)"
    )]
    ToolNotFound { tool: &'static str },
    #[error("{PG_BINDIR_VAR} is set, but {} is not an executable file", path.display())]
    ToolNotInBindir { path: PathBuf },
    #[error("the database URL cannot be handed to the PostgreSQL programs: {0}")]
    Url(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error(
        "the database role `{role}` is subject to Row Level Security, so it cannot read or write every \
         shop's rows: run backups and restores with a role that bypasses it (the cluster's superuser, or as \
         a superuser `ALTER ROLE {role} BYPASSRLS;`) through DATABASE_ADMIN_URL"
    )]
    RowSecurity { role: String },
    #[error(
        "the database `{database}` has no _sqlx_migrations table, so it is not a BikriAgent database: check \
         DATABASE_ADMIN_URL (or DATABASE_URL)"
    )]
    NotBikriDatabase { database: String },
    #[error("{} is not a BikriAgent backup: {reason}", path.display())]
    NotABackup { path: PathBuf, reason: String },
    #[error(
        "the database `{database}` already has {relations} tables, sequences or views; restore only goes into \
         an empty database, so nothing is mixed or overwritten. Create a fresh one as the owner role \
         (`createdb -O <owner role> <name>`), point DATABASE_URL (and DATABASE_ADMIN_URL) at it without \
         starting the app or running `migrate` on it, and run restore again"
    )]
    TargetNotEmpty { database: String, relations: i64 },
    #[error("the role `{role}` that owns objects in the backup does not exist in this PostgreSQL cluster")]
    MissingRole { role: String },
    #[error("{tool} failed ({status}): {detail}")]
    ToolFailed {
        tool: &'static str,
        status: String,
        detail: String,
    },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the backup was restored, but giving its objects back to their roles failed: {0}. Drop the database, \
         create it again and repeat the restore"
    )]
    Reown(#[source] sqlx::Error),
    #[error(
        "the backup was restored, but migrating it to this version failed: {0}. A backup made by a newer \
         BikriAgent must be restored with that version"
    )]
    Migrate(#[source] DbError),
    #[error("the background task running {0} stopped unexpectedly")]
    Task(&'static str),
}

/// What `backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub database: String,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Rows per table, counted in the very snapshot `pg_dump` copied.
    pub rows: RowCounts,
}

/// Whether the configured data key opens the restored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// A stored channel token opened with the configured keys.
    Opens,
    /// It did not: the app would not be able to read tokens or messages.
    DoesNotOpen,
    /// No channel with a token to try.
    NothingToCheck,
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub path: PathBuf,
    pub database: String,
    /// Objects given back to the role the backup records for them.
    pub reowned: usize,
    /// Migrations applied after the restore (0 when the backup was current).
    pub migrated: i64,
    pub rows: RowCounts,
    pub key_check: KeyCheck,
}

/// Dumps the database of [`Config::migration_url`] to `to`.
///
/// The dump goes to a hidden temporary file (mode 0600) next to `to` and is
/// renamed over it only when `pg_dump` succeeded, so `to` is never a
/// half-written backup. Row counts come from the same snapshot as the dump.
#[tracing::instrument(skip_all, fields(to = %to.display()))]
pub async fn backup(config: &Config, to: &Path) -> Result<BackupReport, BackupError> {
    let pg_dump = find_tool("pg_dump")?;
    let url = config.migration_url().expose_secret();
    let env = libpq_env(url)?;
    let pool = db::connect_admin_pool(url).await?;
    let result = backup_with(&pool, pg_dump, env, to).await;
    pool.close().await;
    let report = result?;
    tracing::info!(bytes = report.bytes, tables = report.rows.len(), "backup written");
    Ok(report)
}

async fn backup_with(
    pool: &PgPool,
    pg_dump: PathBuf,
    env: Vec<(&'static str, String)>,
    to: &Path,
) -> Result<BackupReport, BackupError> {
    check_bypasses_rls(pool).await?;
    let database: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(pool)
        .await?;
    // One snapshot for the counts and for pg_dump: the summary describes
    // exactly what is in the file, even while the app keeps writing.
    let mut tx = bikriagent::db::begin(pool).await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let snapshot: String = sqlx::query_scalar("select pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let rows = count_rows(&mut tx).await?;
    if !rows.contains_key("_sqlx_migrations") {
        return Err(BackupError::NotBikriDatabase { database });
    }
    let target = to.to_path_buf();
    let dbname = database.clone();
    let bytes = tokio::task::spawn_blocking(move || dump_to_file(&pg_dump, &env, &dbname, &snapshot, &target))
        .await
        .map_err(|_| BackupError::Task("pg_dump"))??;
    tx.rollback().await?;
    Ok(BackupReport {
        path: to.to_path_buf(),
        database,
        bytes,
        rows,
    })
}

/// Runs `pg_dump` into a temporary file next to `target`, then renames it.
fn dump_to_file(
    pg_dump: &Path,
    env: &[(&'static str, String)],
    database: &str,
    snapshot: &str,
    target: &Path,
) -> Result<u64, BackupError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { action, path, source }
    };
    let name = target.file_name().ok_or_else(|| BackupError::Io {
        action: "cannot write a backup to",
        path: target.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    let folder = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
    let temp = TempFile {
        path: folder.join(temp_name),
        keep: false,
    };
    // Created empty with mode 0600 before pg_dump opens it, so the data is
    // never readable by others, whatever the umask.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp.path)
        .map_err(io("cannot create", &temp.path))?;
    let mut args: Vec<OsString> = vec![
        "--format=custom".into(),
        "--no-password".into(),
        format!("--snapshot={snapshot}").into(),
        format!("--dbname={}", conninfo_dbname(database)).into(),
    ];
    let mut file_arg = OsString::from("--file=");
    file_arg.push(&temp.path);
    args.push(file_arg);
    run_tool("pg_dump", pg_dump, &args, env)?;
    File::open(&temp.path)
        .and_then(|file| file.sync_all())
        .map_err(io("cannot flush", &temp.path))?;
    fs::set_permissions(&temp.path, fs::Permissions::from_mode(0o600)).map_err(io("cannot protect", &temp.path))?;
    let bytes = fs::metadata(&temp.path).map_err(io("cannot read", &temp.path))?.len();
    fs::rename(&temp.path, target).map_err(io("cannot move the finished backup to", target))?;
    temp.keep();
    // The rename is durable once the folder is; some file systems cannot
    // sync a folder, and the backup itself is complete either way.
    let _ = File::open(&folder).and_then(|dir| dir.sync_all());
    Ok(bytes)
}

/// A temporary file removed on drop unless kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Restores `from` into the database of [`Config::migration_url`], which must be empty.
#[tracing::instrument(skip_all, fields(from = %from.display()))]
pub async fn restore(config: &Config, from: &Path) -> Result<RestoreReport, BackupError> {
    let pg_restore = find_tool("pg_restore")?;
    fs::metadata(from).map_err(|source| BackupError::Io {
        action: "cannot read",
        path: from.to_path_buf(),
        source,
    })?;
    let url = config.migration_url().expose_secret();
    let env = libpq_env(url)?;
    // The table of contents both proves the file is a custom-format archive
    // of a BikriAgent database and says who owned what.
    let list_tool = pg_restore.clone();
    let list_from = from.to_path_buf();
    let list_env = env.clone();
    let toc = tokio::task::spawn_blocking(move || {
        let args: Vec<OsString> = vec!["--list".into(), list_from.into_os_string()];
        run_tool("pg_restore", &list_tool, &args, &list_env)
    })
    .await
    .map_err(|_| BackupError::Task("pg_restore --list"))?
    .map_err(|error| match error {
        BackupError::ToolFailed { detail, .. } => BackupError::NotABackup {
            path: from.to_path_buf(),
            reason: format!("pg_restore cannot read it ({detail})"),
        },
        other => other,
    })?;
    let plan = ownership_plan(&String::from_utf8_lossy(&toc.stdout)).map_err(|reason| BackupError::NotABackup {
        path: from.to_path_buf(),
        reason,
    })?;

    let pool = db::connect_admin_pool(url).await?;
    let result = restore_with(&pool, config, pg_restore, env, from, plan).await;
    pool.close().await;
    let report = result?;
    tracing::info!(
        database = %report.database,
        tables = report.rows.len(),
        reowned = report.reowned,
        migrated = report.migrated,
        "backup restored"
    );
    Ok(report)
}

async fn restore_with(
    pool: &PgPool,
    config: &Config,
    pg_restore: PathBuf,
    env: Vec<(&'static str, String)>,
    from: &Path,
    plan: Vec<Reown>,
) -> Result<RestoreReport, BackupError> {
    check_bypasses_rls(pool).await?;
    let database: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(pool)
        .await?;
    let relations: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
          where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') \
            and n.nspname not in ('pg_catalog', 'information_schema') \
            and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'",
    )
    .fetch_one(pool)
    .await?;
    if relations > 0 {
        return Err(BackupError::TargetNotEmpty { database, relations });
    }
    // The roles are cluster-wide, not in the dump: in a new cluster they are
    // created here exactly as the migrations do, before any grant needs them.
    sqlx::raw_sql(ENSURE_ROLES).execute(pool).await?;
    for role in plan.iter().map(|r| r.owner.as_str()) {
        let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(pool)
            .await?;
        if !exists {
            return Err(BackupError::MissingRole { role: role.to_owned() });
        }
    }

    let source = from.to_path_buf();
    let dbname = database.clone();
    tokio::task::spawn_blocking(move || {
        let args: Vec<OsString> = vec![
            "--no-owner".into(),
            "--exit-on-error".into(),
            "--single-transaction".into(),
            "--no-password".into(),
            format!("--dbname={}", conninfo_dbname(&dbname)).into(),
            source.into_os_string(),
        ];
        run_tool("pg_restore", &pg_restore, &args, &env)
    })
    .await
    .map_err(|_| BackupError::Task("pg_restore"))??;

    let mut tx = bikriagent::db::begin(pool).await.map_err(BackupError::Reown)?;
    for reown in &plan {
        sqlx::raw_sql(&reown.statement())
            .execute(&mut *tx)
            .await
            .map_err(BackupError::Reown)?;
    }
    bikriagent::db::commit(tx).await.map_err(BackupError::Reown)?;

    let applied_before = applied_migrations(pool).await?;
    db::migrate(config.migration_url().expose_secret())
        .await
        .map_err(BackupError::Migrate)?;
    let migrated = applied_migrations(pool).await? - applied_before;

    let mut tx = bikriagent::db::begin(pool).await?;
    let rows = count_rows(&mut tx).await?;
    bikriagent::db::commit(tx).await?;
    let key_check = check_data_key(pool, config).await?;
    Ok(RestoreReport {
        path: from.to_path_buf(),
        database,
        reowned: plan.len(),
        migrated,
        rows,
        key_check,
    })
}

/// The roles of the migrations (`foundation` and `channels`), created when
/// missing and granted to the restoring role, so that grants and ownership in
/// the dump can be applied in a cluster that never ran the migrations.
const ENSURE_ROLES: &str = "
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['bikri_app', 'bikri_definer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', role_name);
        END IF;
        IF NOT pg_has_role(current_user, role_name, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', role_name, current_user);
        END IF;
    END LOOP;
END
$$;
";

async fn applied_migrations(pool: &PgPool) -> Result<i64, BackupError> {
    Ok(
        sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
            .fetch_one(pool)
            .await?,
    )
}

/// Tries one stored channel token with the configured keys.
async fn check_data_key(pool: &PgPool, config: &Config) -> Result<KeyCheck, BackupError> {
    let channel: Option<(uuid::Uuid, uuid::Uuid)> =
        sqlx::query_as("select owner_id, id from channels where token_enc is not null limit 1")
            .fetch_optional(pool)
            .await?;
    let Some((owner, channel)) = channel else {
        return Ok(KeyCheck::NothingToCheck);
    };
    let keys = startup::data_keys(config);
    match bikriagent::channels::token(pool, &keys, OwnerId::from_verified(owner), channel).await {
        Ok(_) => Ok(KeyCheck::Opens),
        Err(bikriagent::channels::ChannelError::Database(error)) => Err(BackupError::Query(error)),
        Err(_) => Ok(KeyCheck::DoesNotOpen),
    }
}

/// Backups read, and restores write, every shop's rows: the tables force
/// Row Level Security, which only a superuser or a `BYPASSRLS` role passes.
/// Without it pg_dump would stop with an error; this says why first.
async fn check_bypasses_rls(pool: &PgPool) -> Result<(), BackupError> {
    let (role, bypasses): (String, bool) =
        sqlx::query_as("select rolname::text, rolsuper or rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(pool)
            .await?;
    if bypasses {
        Ok(())
    } else {
        Err(BackupError::RowSecurity { role })
    }
}

/// Exact row counts of every table in `public`.
async fn count_rows(conn: &mut sqlx::PgConnection) -> Result<RowCounts, BackupError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
          where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = RowCounts::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from public.{}", quote_ident(&table)))
            .fetch_one(&mut *conn)
            .await?;
        rows.insert(table, count);
    }
    Ok(rows)
}

/// An object the dump records under a role other than the migrations' owner.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reown {
    /// The SQL object kind (`FUNCTION`, `TABLE`, …).
    kind: &'static str,
    schema: String,
    /// The name, with the argument types for functions.
    tag: String,
    owner: String,
}

impl Reown {
    fn statement(&self) -> String {
        let name = match self.kind {
            "SCHEMA" => quote_ident(&self.tag),
            "FUNCTION" | "PROCEDURE" | "AGGREGATE" => {
                // pg_restore lists `name(arg types)`; the types are SQL already.
                let (name, args) = self.tag.split_at(self.tag.find('(').unwrap_or(self.tag.len()));
                format!("{}.{}{}", quote_ident(&self.schema), quote_ident(name), args)
            }
            _ => format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.tag)),
        };
        format!("ALTER {} {name} OWNER TO {}", self.kind, quote_ident(&self.owner))
    }
}

/// Reads `pg_restore --list`: checks the archive is a BikriAgent database
/// and lists the objects to give back to their roles after `--no-owner`.
///
/// The owner of `_sqlx_migrations` is the migrations' owner role; its objects
/// become the restoring role's. Any other owner (`bikri_definer`, whose
/// `SECURITY DEFINER` functions must not run with the owner's rights) is
/// restored object by object.
fn ownership_plan(toc: &str) -> Result<Vec<Reown>, String> {
    let mut main_owner = None;
    let mut owned = Vec::new();
    for line in toc.lines() {
        if line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        // `ID; TABLEOID OID DESC SCHEMA TAG OWNER`
        let Some((_, rest)) = line.split_once("; ") else {
            continue;
        };
        let words: Vec<&str> = rest.split(' ').skip(2).collect();
        let (kind, skip) = match words.as_slice() {
            ["TABLE", "DATA" | "ATTACH", ..]
            | ["SEQUENCE", "SET" | "OWNED", ..]
            | ["MATERIALIZED", "VIEW", "DATA", ..] => {
                continue;
            }
            ["MATERIALIZED", "VIEW", ..] => ("MATERIALIZED VIEW", 2),
            ["FUNCTION", ..] => ("FUNCTION", 1),
            ["PROCEDURE", ..] => ("PROCEDURE", 1),
            ["AGGREGATE", ..] => ("AGGREGATE", 1),
            ["TABLE", ..] => ("TABLE", 1),
            ["VIEW", ..] => ("VIEW", 1),
            ["SEQUENCE", ..] => ("SEQUENCE", 1),
            ["TYPE", ..] => ("TYPE", 1),
            ["DOMAIN", ..] => ("DOMAIN", 1),
            ["SCHEMA", ..] => ("SCHEMA", 1),
            _ => continue,
        };
        let rest = &words[skip..];
        if rest.len() < 3 {
            continue;
        }
        let (schema, owner) = (rest[0], rest[rest.len() - 1]);
        let tag = rest[1..rest.len() - 1].join(" ");
        if owner.is_empty() {
            continue;
        }
        if kind == "TABLE" && schema == "public" && tag == "_sqlx_migrations" {
            main_owner = Some(owner.to_owned());
        }
        owned.push(Reown {
            kind,
            schema: schema.to_owned(),
            tag,
            owner: owner.to_owned(),
        });
    }
    let main_owner =
        main_owner.ok_or("it has no _sqlx_migrations table, so it is not a dump of a BikriAgent database")?;
    owned.retain(|object| object.owner != main_owner);
    Ok(owned)
}

/// `"name"` with inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A libpq connection string holding only the database name (never a password).
fn conninfo_dbname(database: &str) -> String {
    format!("dbname='{}'", database.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Connection variables a child must not inherit: the URL alone decides.
const CLEARED_VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSERVICE",
    "PGOPTIONS",
];

/// Runs a PostgreSQL program with the connection in its environment.
fn run_tool(
    tool: &'static str,
    program: &Path,
    args: &[OsString],
    env: &[(&'static str, String)],
) -> Result<Output, BackupError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in CLEARED_VARS {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().map_err(|source| BackupError::Io {
        action: "cannot run",
        path: program.to_path_buf(),
        source,
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let detail = lines[lines.len().saturating_sub(6)..].join(" | ");
    Err(BackupError::ToolFailed {
        tool,
        status: output.status.to_string(),
        detail: if detail.is_empty() {
            "no message".to_owned()
        } else {
            detail
        },
    })
}

/// `BIKRI_PG_BINDIR` if set, else `PATH`, else [`DEFAULT_PG_BINDIR`].
fn find_tool(tool: &'static str) -> Result<PathBuf, BackupError> {
    if let Some(dir) = std::env::var_os(PG_BINDIR_VAR).filter(|dir| !dir.is_empty()) {
        let path = Path::new(&dir).join(tool);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(BackupError::ToolNotInBindir { path })
        };
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(tool))
        .find(|path| is_executable(path));
    let fallback = Path::new(DEFAULT_PG_BINDIR).join(tool);
    on_path
        .or_else(|| is_executable(&fallback).then_some(fallback))
        .ok_or(BackupError::ToolNotFound { tool })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The libpq environment (`PGHOST`, `PGPASSWORD`, …) for a `postgres://` URL.
fn libpq_env(url: &str) -> Result<Vec<(&'static str, String)>, BackupError> {
    let bad = |message: &str| BackupError::Url(message.to_owned());
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| bad("it must start with postgres:// or postgresql://"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, database) = match rest.split_once('/') {
        Some((authority, database)) => (authority, Some(database)),
        None => (rest, None),
    };
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut env = Vec::new();
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            env.push((
                "PGUSER",
                percent_decode(user).ok_or_else(|| bad("the user name is not valid"))?,
            ));
        }
        if let Some(password) = password {
            env.push((
                "PGPASSWORD",
                percent_decode(password).ok_or_else(|| bad("the password is not valid percent-encoding"))?,
            ));
        }
    }
    if !hosts.is_empty() {
        let (mut names, mut ports) = (Vec::new(), Vec::new());
        for host in hosts.split(',') {
            let (name, port) = if let Some(v6) = host.strip_prefix('[') {
                let (name, after) = v6.split_once(']').ok_or_else(|| bad("an IPv6 host lacks its `]`"))?;
                (name, after.strip_prefix(':'))
            } else {
                match host.rsplit_once(':') {
                    Some((name, port)) => (name, Some(port)),
                    None => (host, None),
                }
            };
            names.push(percent_decode(name).ok_or_else(|| bad("the host is not valid"))?);
            ports.push(port.unwrap_or("").to_owned());
        }
        if names.iter().any(|name| !name.is_empty()) {
            env.push(("PGHOST", names.join(",")));
        }
        if ports.iter().any(|port| !port.is_empty()) {
            if ports
                .iter()
                .any(|port| !port.is_empty() && port.parse::<u16>().is_err())
            {
                return Err(bad("the port is not a number"));
            }
            env.push(("PGPORT", ports.join(",")));
        }
    }
    if let Some(database) = database.filter(|d| !d.is_empty()) {
        env.push((
            "PGDATABASE",
            percent_decode(database).ok_or_else(|| bad("the database name is not valid"))?,
        ));
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| bad("a parameter is not valid percent-encoding"))?;
        let var = match key {
            "host" => "PGHOST",
            "hostaddr" => "PGHOSTADDR",
            "port" => "PGPORT",
            "user" => "PGUSER",
            "password" => "PGPASSWORD",
            "dbname" => "PGDATABASE",
            "sslmode" | "ssl-mode" => "PGSSLMODE",
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" => "PGSSLROOTCERT",
            "sslcert" | "ssl-cert" => "PGSSLCERT",
            "sslkey" | "ssl-key" => "PGSSLKEY",
            "sslcrl" => "PGSSLCRL",
            "application_name" => "PGAPPNAME",
            "options" => "PGOPTIONS",
            "connect_timeout" => "PGCONNECT_TIMEOUT",
            "target_session_attrs" => "PGTARGETSESSIONATTRS",
            "channel_binding" => "PGCHANNELBINDING",
            "gssencmode" => "PGGSSENCMODE",
            "passfile" => "PGPASSFILE",
            // Settings of the app's own client, meaningless to libpq.
            "statement-cache-capacity" => continue,
            other => {
                return Err(BackupError::Url(format!(
                    "the parameter `{other}` has no PostgreSQL client equivalent; remove it from the URL"
                )));
            }
        };
        env.retain(|(name, _)| *name != var);
        env.push((var, value));
    }
    Ok(env)
}

/// Decodes `%XX` escapes; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `1.4 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

/// One line per table that has rows, then the totals.
fn write_rows(f: &mut fmt::Formatter<'_>, rows: &RowCounts) -> fmt::Result {
    let width = rows.keys().map(String::len).max().unwrap_or(0);
    for (table, count) in rows.iter().filter(|(_, count)| **count > 0) {
        writeln!(f, "  {table:<width$}  {count:>10}")?;
    }
    let empty = rows.values().filter(|count| **count == 0).count();
    write!(
        f,
        "  ({} tables, {} rows in all; {empty} tables empty)",
        rows.len(),
        rows.values().sum::<i64>()
    )
}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Backed up database `{}` to {} ({}). Rows:",
            self.database,
            self.path.display(),
            human_size(self.bytes)
        )?;
        write_rows(f, &self.rows)
    }
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let migrations = match self.migrated {
            0 => "no migration was pending".to_owned(),
            n => format!("applied {n} newer migrations"),
        };
        writeln!(
            f,
            "Restored {} into database `{}` ({migrations}). Rows:",
            self.path.display(),
            self.database
        )?;
        write_rows(f, &self.rows)?;
        match self.key_check {
            KeyCheck::Opens => write!(f, "\nThe configured BIKRI_DATA_KEY opens the restored tokens."),
            KeyCheck::NothingToCheck => write!(
                f,
                "\nNo stored token to try: run the app with the BIKRI_DATA_KEY (and BIKRI_OLD_DATA_KEYS) in use when \
                 the backup was made."
            ),
            KeyCheck::DoesNotOpen => write!(
                f,
                "\nWARNING: the configured BIKRI_DATA_KEY does not open the restored tokens. Set the key (and \
                 BIKRI_OLD_DATA_KEYS) that was in use when the backup was made, or the app cannot read tokens or \
                 messages."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(url: &str) -> Vec<(&'static str, String)> {
        libpq_env(url).expect("valid URL")
    }

    #[test]
    fn a_url_becomes_libpq_variables_with_the_password_decoded() {
        assert_eq!(
            env_of("postgres://bikri%40owner:p%3Ass%2Fw@db.example.com:6543/bikri%20prod?sslmode=require"),
            vec![
                ("PGUSER", "bikri@owner".to_owned()),
                ("PGPASSWORD", "p:ss/w".to_owned()),
                ("PGHOST", "db.example.com".to_owned()),
                ("PGPORT", "6543".to_owned()),
                ("PGDATABASE", "bikri prod".to_owned()),
                ("PGSSLMODE", "require".to_owned()),
            ]
        );
        assert_eq!(
            env_of("postgresql://[::1]:5432/x"),
            vec![
                ("PGHOST", "::1".to_owned()),
                ("PGPORT", "5432".to_owned()),
                ("PGDATABASE", "x".to_owned())
            ]
        );
        assert_eq!(
            env_of("postgres:///bikri?host=/var/run/postgresql&user=owner"),
            vec![
                ("PGDATABASE", "bikri".to_owned()),
                ("PGHOST", "/var/run/postgresql".to_owned()),
                ("PGUSER", "owner".to_owned())
            ]
        );
    }

    #[test]
    fn urls_libpq_cannot_take_are_refused_without_echoing_them() {
        for url in [
            "mysql://u:secret@h/d",
            "postgres://u:secret@h:port/d",
            "postgres://u:sec%zzret@h/d",
            "postgres://u:secret@h/d?weird=1",
        ] {
            let message = libpq_env(url).expect_err(url).to_string();
            assert!(!message.contains("secret"), "{message}");
        }
    }

    const TOC: &str = "\
;
; Archive created at 2026-11-23 16:23:10 UTC
;     dbname: bikri
;
2; 3079 32110 EXTENSION - pg_trgm 
3931; 0 0 ACL - SCHEMA public pg_database_owner
252; 1255 31716 FUNCTION public app_current_owner() postgres
262; 1255 32075 FUNCTION public channel_holder(text, text) bikri_definer
300; 1255 32471 FUNCTION public staff_owner_activity(timestamp with time zone) bikri_definer
3933; 0 0 ACL public FUNCTION channel_holder(p_platform text, p_meta_id text) bikri_definer
220; 1259 31700 TABLE public _sqlx_migrations postgres
221; 1259 31701 TABLE public accounts postgres
3500; 0 31701 TABLE DATA public accounts postgres
222; 1259 31702 SEQUENCE public jobs_id_seq postgres
3600; 0 0 SEQUENCE SET public jobs_id_seq postgres
";

    #[test]
    fn objects_of_other_roles_are_given_back_after_no_owner() {
        let plan = ownership_plan(TOC).expect("a BikriAgent archive");
        let statements: Vec<String> = plan.iter().map(Reown::statement).collect();
        assert_eq!(
            statements,
            vec![
                r#"ALTER FUNCTION "public"."channel_holder"(text, text) OWNER TO "bikri_definer""#,
                r#"ALTER FUNCTION "public"."staff_owner_activity"(timestamp with time zone) OWNER TO "bikri_definer""#,
            ]
        );
        let other = ownership_plan(&TOC.replace("_sqlx_migrations", "something_else"));
        assert!(
            other
                .expect_err("no migrations table")
                .contains("not a dump of a BikriAgent database")
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(900), "900 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }
}
