//! `riposte serve`: the engine's process (store, API, console, intake, workers).

#[derive(clap::Args)]
pub struct ServeArgs {}

pub fn run(_args: &ServeArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte serve` is not available yet in this build")
}
