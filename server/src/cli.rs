//! Subcommands of the `bikriagent` binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bikriagent::db;
use secrecy::ExposeSecret as _;
use tokio::sync::watch;

use crate::config::{Config, Mode};
use crate::startup::{self, Application};
use crate::telemetry;

const USAGE: &str = "\
usage: bikriagent [COMMAND]

commands:
  serve     web pages, OAuth callbacks, webhooks and background workers (default)
  migrate   apply database migrations and exit
  worker    background workers only (run more of them on other machines)
  create-staff --email EMAIL --role staff|admin [--name NAME]
            create a staff or admin account; the password is read from
            BIKRI_STAFF_PASSWORD or from the first line of standard input
  seed-demo create the demo owner (development mode only)
  classify  read one customer message per line on standard input and print
            one JSON object per line with risk, categories, language and
            confidence
  converse --shop FILE
            answer customers from the shop file FILE (docs/SHOP_FILE.md)
            with the live decision path, in memory: read one JSON object
            {\"conversation\", \"text\"} per line on standard input and print
            one JSON object per line with action (reply, review or hold),
            text, language, intent and the order placed, if any
  import-shop --email EMAIL --shop FILE
            load the shop file FILE into the owner account EMAIL (adds and
            updates, deletes nothing; all or nothing)
  train-risk [--corpus DIR] [--out FILE]
            train the risk model on DIR/train.jsonl (default
            src/pipeline/corpus), print the cross-validation report and
            write the weights to FILE (default src/pipeline/risk_model.bin;
            rebuild to embed them)
  eval-risk [--corpus FILE]
            report the embedded model, the rules and both on a labelled
            file (default src/pipeline/corpus/heldout.jsonl)
  rotate-keys
            re-encrypt every stored token and secret, and rewrite customers'
            ids (hash and ciphertext), under BIKRI_DATA_KEY (older keys
            listed in BIKRI_OLD_DATA_KEYS)
  backup --to FILE
            write the whole database to FILE (pg_dump custom format, mode
            0600); tokens and messages stay encrypted, and BIKRI_DATA_KEY is
            not in it: keep the key somewhere else
  restore --from FILE
            load a backup into the empty database of DATABASE_ADMIN_URL (or
            DATABASE_URL), then apply migrations
  dev-meta [--port PORT]
            run the fake Meta (Login dialog, Graph API, Send API) on
            127.0.0.1:PORT (default 3001) for local development
  help      show this message

Configuration comes from environment variables; see .env.example.";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
    Worker,
    CreateStaff { email: String, role: String, name: String },
    SeedDemo,
    RotateKeys,
    Classify,
    Converse { shop: PathBuf },
    ImportShop { email: String, shop: PathBuf },
    TrainRisk { corpus: PathBuf, out: PathBuf },
    EvalRisk { corpus: PathBuf },
    DevMeta { port: u16 },
    Backup { to: PathBuf },
    Restore { from: PathBuf },
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        None | Some("serve") => Ok(Command::Serve),
        Some("migrate") => Ok(Command::Migrate),
        Some("worker") => Ok(Command::Worker),
        Some("help" | "--help" | "-h") => Ok(Command::Help),
        Some("seed-demo") => Ok(Command::SeedDemo),
        Some("rotate-keys") => Ok(Command::RotateKeys),
        Some("classify") => Ok(Command::Classify),
        Some("converse") => Ok(Command::Converse {
            shop: file_option(&args[1..], "converse", "--shop")?,
        }),
        Some("import-shop") => {
            let (mut email, mut shop) = (None, None);
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?.clone();
                match flag.as_str() {
                    "--email" => email = Some(value),
                    "--shop" => shop = Some(PathBuf::from(value)),
                    other => return Err(format!("import-shop: unknown option `{other}`")),
                }
            }
            Ok(Command::ImportShop {
                email: email.ok_or("import-shop needs --email EMAIL")?,
                shop: shop.ok_or("import-shop needs --shop FILE")?,
            })
        }
        Some("train-risk") => {
            let mut corpus = PathBuf::from("src/pipeline/corpus");
            let mut out = PathBuf::from("src/pipeline/risk_model.bin");
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let value = PathBuf::from(rest.next().ok_or_else(|| format!("{flag} needs a value"))?);
                match flag.as_str() {
                    "--corpus" => corpus = value,
                    "--out" => out = value,
                    other => return Err(format!("train-risk: unknown option `{other}`")),
                }
            }
            Ok(Command::TrainRisk { corpus, out })
        }
        Some("eval-risk") => match &args[1..] {
            [] => Ok(Command::EvalRisk {
                corpus: PathBuf::from("src/pipeline/corpus/heldout.jsonl"),
            }),
            [flag, file] if flag == "--corpus" => Ok(Command::EvalRisk {
                corpus: PathBuf::from(file),
            }),
            _ => Err("eval-risk takes only --corpus FILE".to_owned()),
        },
        Some("dev-meta") => match args.get(1).map(String::as_str) {
            None => Ok(Command::DevMeta { port: 3001 }),
            Some("--port") => {
                let port = args
                    .get(2)
                    .and_then(|p| p.parse().ok())
                    .ok_or("--port needs a port number")?;
                Ok(Command::DevMeta { port })
            }
            Some(other) => Err(format!("dev-meta: unknown option `{other}`")),
        },
        Some("backup") => Ok(Command::Backup {
            to: file_option(&args[1..], "backup", "--to")?,
        }),
        Some("restore") => Ok(Command::Restore {
            from: file_option(&args[1..], "restore", "--from")?,
        }),
        Some("create-staff") => {
            let (mut email, mut role, mut name) = (None, None, None);
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?.clone();
                match flag.as_str() {
                    "--email" => email = Some(value),
                    "--role" => role = Some(value),
                    "--name" => name = Some(value),
                    other => return Err(format!("create-staff: unknown option `{other}`")),
                }
            }
            let email = email.ok_or("create-staff needs --email")?;
            let role = role.ok_or("create-staff needs --role staff|admin")?;
            if role != "staff" && role != "admin" {
                return Err("--role must be `staff` or `admin`".to_owned());
            }
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("Staff").to_owned());
            Ok(Command::CreateStaff { email, role, name })
        }
        Some(other) => Err(format!("unknown command `{other}`")),
    }
}

/// The one `FLAG FILE` option of `backup` and `restore`.
fn file_option(args: &[String], command: &str, flag: &str) -> Result<PathBuf, String> {
    match args {
        [given, file] if given == flag && !file.is_empty() => Ok(PathBuf::from(file)),
        [given] | [given, _] if given == flag => Err(format!("{command}: {flag} needs a file")),
        [] => Err(format!("{command} needs {flag} FILE")),
        [other, ..] if other != flag => Err(format!("{command}: unknown option `{other}`")),
        _ => Err(format!("{command} takes only {flag} FILE")),
    }
}

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("bikriagent: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if command == Command::Help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if command == Command::Classify {
        return classify_stdin();
    }
    if let Command::Converse { shop } = &command {
        return converse_stdin(shop);
    }
    if let Command::TrainRisk { corpus, out } = &command {
        return train_risk(corpus, out);
    }
    if let Command::EvalRisk { corpus } = &command {
        return eval_risk(corpus);
    }
    if let Command::DevMeta { port } = command {
        telemetry::init(telemetry::format_from_env());
        return dev_meta(port);
    }
    telemetry::init(telemetry::format_from_env());
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bikriagent: {error}");
            return ExitCode::from(2);
        }
    };
    if config.mode == Mode::Development && !config.generated.is_empty() {
        tracing::warn!(
            generated = ?config.generated,
            "development mode: generated these secrets for this run only; set them in the environment to keep data readable across restarts"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bikriagent: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("bikriagent: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `bikriagent classify`: the offline risk classifier over standard input.
fn classify_stdin() -> ExitCode {
    use std::io::{BufRead as _, Write as _};
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            eprintln!("bikriagent classify: standard input is not UTF-8 text");
            return ExitCode::from(2);
        };
        let classification = bikriagent::pipeline::classifier::classify(&line);
        if writeln!(out, "{}", classification.to_json_line()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Reads and checks a shop file, or says on standard error why not.
fn read_shop(command: &str, path: &std::path::Path) -> Result<bikriagent::catalog::shop_file::ShopFile, ExitCode> {
    let bytes = std::fs::read(path).map_err(|error| {
        eprintln!("bikriagent {command}: cannot read {}: {error}", path.display());
        ExitCode::from(2)
    })?;
    bikriagent::catalog::shop_file::ShopFile::from_json(&bytes).map_err(|error| {
        eprintln!("bikriagent {command}: {} is not a valid shop file:", path.display());
        for problem in &error.problems {
            eprintln!("  {problem}");
        }
        ExitCode::from(2)
    })
}

/// `bikriagent converse`: the live decision path over a shop file, in memory.
fn converse_stdin(shop: &std::path::Path) -> ExitCode {
    use std::io::{BufRead as _, Write as _};
    let shop = match read_shop("converse", shop) {
        Ok(shop) => shop,
        Err(code) => return code,
    };
    let mut converse = bikriagent::converse::Converse::new(&shop);
    // As live: with LLM_BASE_URL and LLM_MODEL, the LLM reads the messages
    // the engine did not understand.
    if let (Ok(base_url), Ok(model)) = (std::env::var("LLM_BASE_URL"), std::env::var("LLM_MODEL")) {
        let settings = bikriagent::pipeline::llm::LlmSettings {
            base_url,
            api_key: std::env::var("LLM_API_KEY").ok().map(secrecy::SecretString::from),
            model,
            timeout: std::time::Duration::from_secs(20),
        };
        let with_llm = bikriagent::pipeline::llm::LlmClient::new(settings)
            .map_err(|error| error.to_string())
            .and_then(|llm| converse.with_llm(llm).map_err(|error| error.to_string()));
        converse = match with_llm {
            Ok(converse) => converse,
            Err(error) => {
                eprintln!("bikriagent converse: {error}");
                return ExitCode::from(2);
            }
        };
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            eprintln!("bikriagent converse: standard input is not UTF-8 text");
            return ExitCode::from(2);
        };
        // Blank lines (a file's last newline) are no message.
        if line.trim().is_empty() {
            continue;
        }
        if writeln!(out, "{}", converse.line(&line))
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `bikriagent train-risk`: trains the risk model on the corpus's train split.
fn train_risk(corpus: &std::path::Path, out: &std::path::Path) -> ExitCode {
    use bikriagent::pipeline::{risk_model, risk_training};
    let path = corpus.join("train.jsonl");
    let rows = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| risk_training::read_corpus(&text))
    {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("bikriagent train-risk: {}: {error}", path.display());
            return ExitCode::from(2);
        }
    };
    let (model, report) = risk_training::train(&rows, risk_model::TrainOptions::default());
    println!("{report}");
    if let Err(error) = std::fs::write(out, model.to_bytes()) {
        eprintln!("bikriagent train-risk: cannot write {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {} ({} messages); rebuild to embed it", out.display(), rows.len());
    ExitCode::SUCCESS
}

/// `bikriagent eval-risk`: reports the embedded model on a labelled file.
fn eval_risk(corpus: &std::path::Path) -> ExitCode {
    use bikriagent::pipeline::{risk_model, risk_training};
    let Some(model) = risk_model::EMBEDDED.as_ref() else {
        eprintln!("bikriagent eval-risk: no model is embedded; run train-risk and rebuild");
        return ExitCode::FAILURE;
    };
    match std::fs::read_to_string(corpus)
        .map_err(|e| e.to_string())
        .and_then(|text| risk_training::read_corpus(&text))
    {
        Ok(rows) => {
            println!("{}", risk_training::evaluate(model, &rows));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bikriagent eval-risk: {}: {error}", corpus.display());
            ExitCode::from(2)
        }
    }
}

/// Runs the fake Meta until Ctrl-C (no database needed).
fn dev_meta(port: u16) -> ExitCode {
    let app_id = std::env::var("META_APP_ID").unwrap_or_else(|_| "1234567890".to_owned());
    let Ok(secret) = std::env::var("META_APP_SECRET") else {
        eprintln!("bikriagent dev-meta: set META_APP_SECRET (the same value the app uses)");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bikriagent: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match crate::fake_meta::FakeMeta::spawn(port, &app_id, &secret).await {
            Ok(fake) => {
                tracing::info!(graph_url = %fake.graph_url(), dialog_url = %fake.dialog_url(), "fake Meta running");
                println!(
                    "META_GRAPH_URL={}\nMETA_DIALOG_URL={}",
                    fake.graph_url(),
                    fake.dialog_url()
                );
                startup::shutdown_signal().await;
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bikriagent dev-meta: cannot listen on port {port}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Help
        | Command::DevMeta { .. }
        | Command::Classify
        | Command::Converse { .. }
        | Command::TrainRisk { .. }
        | Command::EvalRisk { .. } => Ok(()),
        Command::RotateKeys => {
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            let pool = db::connect_app_pool(config.database_url.expose_secret(), 2)
                .await
                .map_err(|e| e.to_string())?;
            let keys = startup::data_keys(&config);
            let (tokens, tokens_failed) = bikriagent::channels::rotate_keys(&pool, &keys)
                .await
                .map_err(|e| e.to_string())?;
            let (ids, ids_failed) = bikriagent::customer_ids::rotate(&pool, &keys)
                .await
                .map_err(|e| e.to_string())?;
            // Mail waiting to be sent: its sealed body too.
            let (mail_rotated, mail_failed) = bikriagent::mail::rotate_keys(&pool, &keys)
                .await
                .map_err(|e| e.to_string())?;
            pool.close().await;
            let (rotated, failed) = (tokens + ids + mail_rotated, tokens_failed + ids_failed + mail_failed);
            println!("Re-encrypted {rotated} values under key {}.", config.data_key_id);
            if failed > 0 {
                return Err(format!(
                    "{failed} values did not open with the configured keys and were left as they are;                      keep the old keys in BIKRI_OLD_DATA_KEYS"
                ));
            }
            Ok(())
        }
        Command::Backup { to } => {
            let report = crate::backup::backup(&config, &to).await.map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Restore { from } => {
            let report = crate::backup::restore(&config, &from)
                .await
                .map_err(|e| e.to_string())?;
            println!("{report}");
            if report.key_check == crate::backup::KeyCheck::DoesNotOpen {
                tracing::warn!("the configured data key does not open the restored tokens");
            }
            Ok(())
        }
        Command::ImportShop { email, shop } => {
            let file = read_shop("import-shop", &shop).map_err(|_| "the shop file was refused".to_owned())?;
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            let pool = db::connect_app_pool(config.database_url.expose_secret(), 2)
                .await
                .map_err(|e| e.to_string())?;
            let imported = match bikriagent::owners::owner_by_email(&pool, &email).await {
                Ok(Some(owner)) => bikriagent::catalog::shop_file::import(&pool, owner, &file)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(None) => Err("no owner account has that email".to_owned()),
                Err(error) => Err(error.to_string()),
            };
            pool.close().await;
            println!("Imported {}: {}.", shop.display(), imported?);
            Ok(())
        }
        Command::Migrate => {
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(config).await.map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::CreateStaff { email, role, name } => {
            let password = match std::env::var("BIKRI_STAFF_PASSWORD") {
                Ok(password) if !password.is_empty() => password,
                _ => {
                    eprintln!("Password for {email} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            let pool = db::connect_app_pool(config.database_url.expose_secret(), 2)
                .await
                .map_err(|e| e.to_string())?;
            let services = startup::services(&pool, &config, Arc::new(bikriagent::clock::SystemClock));
            let role = bikriagent::auth::accounts::Role::parse(&role).ok_or("unknown role")?;
            let created = services
                .accounts
                .create_staff(&email, &name, role, &secrecy::SecretString::from(password))
                .await;
            pool.close().await;
            match created {
                Ok(_) => {
                    println!(
                        "Created {} account {email}. It must set up two-step verification at first login.",
                        role.as_str()
                    );
                    Ok(())
                }
                Err(bikriagent::auth::accounts::AuthError::Invalid(errors)) => Err(errors
                    .into_iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ")),
                Err(error) => Err(error.to_string()),
            }
        }
        Command::SeedDemo => {
            if config.mode != Mode::Development {
                return Err("seed-demo only runs with BIKRI_ENV=development".to_owned());
            }
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            let pool = db::connect_app_pool(config.database_url.expose_secret(), 2)
                .await
                .map_err(|e| e.to_string())?;
            let services = startup::services(&pool, &config, Arc::new(bikriagent::clock::SystemClock));
            let created = services.accounts.seed_demo_owner().await.map_err(|e| e.to_string())?;
            if let Some(owner) = created {
                bikriagent::catalog::demo::seed(&pool, owner)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            pool.close().await;
            let (email, password) = (
                bikriagent::auth::accounts::DEMO_EMAIL,
                bikriagent::auth::accounts::DEMO_PASSWORD,
            );
            if created.is_some() {
                println!("Created the demo owner with a demo catalog.");
            }
            println!("Demo owner: log in as {email} with the password {password}");
            Ok(())
        }
        Command::Worker => {
            if config.workers == 0 {
                return Err("worker needs BIKRI_WORKERS of 1 or more".to_owned());
            }
            startup::migrate(&config).await.map_err(|e| e.to_string())?;
            let pool = db::connect_app_pool(config.database_url.expose_secret(), config.db_max_connections)
                .await
                .map_err(|e| e.to_string())?;
            let config = Arc::new(config);
            let (stop_tx, stop_rx) = watch::channel(false);
            let pipeline = startup::pipeline(&pool, &config, Arc::new(bikriagent::clock::SystemClock));
            let mut workers = startup::spawn_workers(&pool, &config, &pipeline, config.workers, &stop_rx);
            let cleanup = startup::spawn_cleanup(&pool, &config, pipeline.clock.clone(), &stop_rx);
            // Sends and classifications are counted where the jobs run.
            let metrics = startup::bind_metrics(&config)
                .await
                .map_err(|e| e.to_string())?
                .map(|listener| startup::serve_metrics(listener, pool.clone(), stop_rx.clone()));
            tracing::info!(workers = config.workers, "workers running");
            startup::shutdown_signal().await;
            let _ = stop_tx.send(true);
            if let Some(metrics) = metrics {
                let _ = metrics.await;
            }
            startup::finish_workers(&mut workers).await;
            let _ = cleanup.await;
            pool.close().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn serve_is_the_default_and_unknown_commands_are_refused() {
        assert_eq!(parse(&args(&[])), Ok(Command::Serve));
        assert_eq!(parse(&args(&["worker"])), Ok(Command::Worker));
        assert_eq!(parse(&args(&["migrate"])), Ok(Command::Migrate));
        assert!(parse(&args(&["servr"])).unwrap_err().contains("servr"));
    }

    #[test]
    fn converse_and_import_shop_take_their_files() {
        assert_eq!(
            parse(&args(&["converse", "--shop", "shop.json"])),
            Ok(Command::Converse {
                shop: PathBuf::from("shop.json")
            })
        );
        assert!(parse(&args(&["converse"])).unwrap_err().contains("--shop FILE"));
        assert_eq!(
            parse(&args(&["import-shop", "--shop", "s.json", "--email", "a@b.c"])),
            Ok(Command::ImportShop {
                email: "a@b.c".into(),
                shop: PathBuf::from("s.json")
            })
        );
        assert!(
            parse(&args(&["import-shop", "--shop", "s.json"]))
                .unwrap_err()
                .contains("--email")
        );
    }
}
