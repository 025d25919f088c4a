//! `bikriagent`: one binary for the dashboard, OAuth callbacks, webhooks and workers.

use std::process::ExitCode;

fn main() -> ExitCode {
    bikriagent_server::cli::main()
}
