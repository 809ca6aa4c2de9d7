//! List prices of well-known hosted models, for the cost shown beside token use. A configured
//! price (`ProviderConfig::price`) wins; local models have none. Prices change: these are the
//! providers' published list prices for standard (non-batch, non-cached) use as of 2025, in US
//! dollars per million tokens.

use super::Price;

/// Model name prefixes, most specific first (the first prefix that matches wins).
const PRICES: &[(&str, f64, f64)] = &[
    // OpenAI
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5", 1.25, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    // Anthropic
    ("claude-opus-4-5", 5.00, 25.00),
    ("claude-opus-4", 15.00, 75.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-5-haiku", 0.80, 4.00),
];

/// The list price of `model`, if it is a well-known hosted model. Provider prefixes some
/// gateways add (`openai/gpt-4o`, `anthropic/claude-...`) are ignored.
pub fn known_price(model: &str) -> Option<Price> {
    let model = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    PRICES
        .iter()
        .find(|(prefix, _, _)| model.starts_with(prefix))
        .map(|&(_, input, output)| Price {
            input_per_million: input,
            output_per_million: output,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Usage;

    #[test]
    fn most_specific_prefix_wins() {
        assert_eq!(
            known_price("gpt-4o-mini-2024-07-18")
                .unwrap()
                .input_per_million,
            0.15
        );
        assert_eq!(
            known_price("gpt-4o-2024-08-06").unwrap().input_per_million,
            2.50
        );
        assert_eq!(
            known_price("openai/gpt-4.1-mini")
                .unwrap()
                .output_per_million,
            1.60
        );
        assert_eq!(
            known_price("claude-sonnet-4-5-20250929")
                .unwrap()
                .output_per_million,
            15.0
        );
        assert_eq!(known_price("llama3.1:8b"), None);
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let price = Price {
            input_per_million: 3.0,
            output_per_million: 15.0,
        };
        let usage = Usage {
            input_tokens: 2_000_000,
            output_tokens: 100_000,
        };
        assert!((price.cost(usage) - 7.5).abs() < 1e-9);
    }
}
