//! `riposte rule`: a check rule's documentation, the same text hover shows.

use crate::exit;

#[derive(clap::Args)]
pub struct RuleArgs {
    /// A rule code such as RP003.
    code: Option<String>,
}

pub fn run(args: &RuleArgs) -> anyhow::Result<u8> {
    explain_rule(args.code.as_deref())
}

fn explain_rule(code: Option<&str>) -> anyhow::Result<u8> {
    use riposte_core::Rule;
    match code {
        None => {
            for rule in Rule::ALL {
                println!(
                    "{} {:<28} {:<8} {}",
                    rule.code(),
                    rule.name(),
                    rule.default_severity().as_str(),
                    rule.summary()
                );
            }
            Ok(exit::CLEAN)
        }
        Some(code) => {
            let rule = Rule::from_code(code).ok_or_else(|| {
                anyhow::anyhow!("`{code}` is not a rule code; `riposte rule` lists them")
            })?;
            println!("{}", rule.documentation());
            Ok(exit::CLEAN)
        }
    }
}
