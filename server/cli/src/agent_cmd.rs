//! `riposte generate` and `riposte eval`: the Plan/Act agent in a terminal.

#[derive(clap::Args)]
pub struct GenerateArgs {}
#[derive(clap::Args)]
pub struct EvalArgs {}

pub fn generate(_args: &GenerateArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte generate` is not available yet in this build")
}
pub fn eval(_args: &EvalArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte eval` is not available yet in this build")
}
