//! `riposte deploy` and `riposte runs`: clients of a running engine.

#[derive(clap::Args)]
pub struct DeployArgs {}
#[derive(clap::Args)]
pub struct RunsArgs {}

pub fn deploy(_args: &DeployArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte deploy` is not available yet in this build")
}
pub fn runs(_args: &RunsArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte runs` is not available yet in this build")
}
