//! Arbitrary text through every workspace format parser: integration profiles, automation rules,
//! `riposte.toml`, saved alerts (Graph and Sentinel shapes) and custom OpenAPI catalogs.
//!
//! Each input goes through all of them, so one seed corpus of TOML and JSON files serves every
//! parser. Besides "no panic, no hang", diagnostic and error ranges must lie inside the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use riposte_core::alert::Alert;
use riposte_core::catalog::ApiCatalog;
use riposte_core::formats::automation::AutomationRule;
use riposte_core::formats::config::Config;
use riposte_core::formats::profile::Profile;
use riposte_core::source::TextRange;

fn assert_in_text(text: &str, range: TextRange, what: &str) {
    let (start, end) = (range.start().to_usize(), range.end().to_usize());
    assert!(
        end <= text.len(),
        "{what} {range:?} ends past the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what} {range:?} splits a character"
    );
}

fuzz_target!(|data: &[u8]| {
    // The workspace loader refuses non-UTF-8 files before any parser sees them.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let (profile, diagnostics) = Profile::parse(text);
    for diagnostic in &diagnostics {
        assert_in_text(text, diagnostic.range, "profile diagnostic");
    }
    if let Some(profile) = profile {
        let _ = (
            profile.host(),
            profile.base_path(),
            profile.api_is_file(),
            profile.auth.secret_fields(),
        );
    }

    // Half of all names exist, so both the "points nowhere" path and the valid one run.
    let known = |name: &str| name.len().is_multiple_of(2);
    let (rule, diagnostics) = AutomationRule::parse(text, &known);
    for diagnostic in &diagnostics {
        assert_in_text(text, diagnostic.range, "rule diagnostic");
    }
    if let Some(rule) = rule {
        let _ = rule.action();
    }

    match Config::parse(text) {
        Ok(config) => {
            let _ = config.python_version();
        }
        Err(err) => assert_in_text(text, err.range, "config error"),
    }

    if let Ok(alert) = Alert::from_json(text) {
        let _ = serde_json::to_string(&alert);
    }

    let _ = ApiCatalog::from_openapi("fuzz", text);
});
