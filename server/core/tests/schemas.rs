//! The JSON Schemas in `schemas/` (what editors validate `riposte.toml`, `integrations/*.toml` and
//! `rules/*.toml` with) against the Rust formats they describe.
//!
//! Every example is checked by the schema (read as draft 2020-12 and as draft 7) and by the Rust
//! parser in `formats/`, and they must agree. The few inputs a JSON Schema cannot judge like the
//! parser are listed as known gaps (`looser`, `stricter`), so a change on either side shows up.

use std::path::{Path, PathBuf};

use jsonschema::Validator;
use riposte_core::Rule;
use riposte_core::formats::automation::{AutomationRule, CONDITION_FIELDS, OPERATORS};
use riposte_core::formats::config::{Config, PYTHON_VERSIONS};
use riposte_core::formats::profile::{AUTH_METHODS, Profile};
use serde_json::{Value, json};

const SCHEMA_FILES: &[&str] = &[
    "riposte.schema.json",
    "integration-profile.schema.json",
    "automation-rule.schema.json",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load_schema(file: &str) -> Value {
    let path = repo_root().join("schemas").join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: not JSON: {err}", path.display()))
}

fn compile(file: &str) -> Validator {
    let schema = load_schema(file);
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|err| panic!("schemas/{file} does not compile: {err}"))
}

/// The schema read by a validator that knows draft 7 only (as some TOML editors' do): the
/// verdicts must not change, so no keyword that decides one may sit beside a `$ref`.
fn compile_as_draft7(file: &str) -> Validator {
    let schema = load_schema(file);
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|err| panic!("schemas/{file} does not compile as draft 7: {err}"))
}

/// TOML to the JSON data model the way TOML editors (Taplo) hand it to a JSON Schema: date-times
/// become strings.
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

fn parse_toml(name: &str, text: &str) -> Value {
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|err| panic!("example `{name}` is not TOML: {err}"));
    toml_to_json(toml::Value::Table(table))
}

fn schema_errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|err| format!("{} (at `{}`)", err, err.instance_path()))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Config,
    Profile,
    Rule,
}

impl Format {
    fn schema_file(self) -> &'static str {
        match self {
            Format::Config => "riposte.schema.json",
            Format::Profile => "integration-profile.schema.json",
            Format::Rule => "automation-rule.schema.json",
        }
    }

    /// What the Rust parser says: `Ok` when it accepts the text, its messages otherwise. Rules are
    /// parsed as if every playbook existed: that is the workspace's business, not the schema's.
    fn rust_verdict(self, text: &str) -> Result<(), Vec<String>> {
        let messages = |diagnostics: Vec<riposte_core::Diagnostic>| {
            diagnostics.into_iter().map(|d| d.message).collect()
        };
        match self {
            Format::Config => Config::parse(text)
                .map(drop)
                .map_err(|err| vec![err.message]),
            Format::Profile => match Profile::parse(text) {
                (Some(_), _) => Ok(()),
                (None, diagnostics) => Err(messages(diagnostics)),
            },
            Format::Rule => match AutomationRule::parse(text, &|_| true) {
                (Some(_), _) => Ok(()),
                (None, diagnostics) => Err(messages(diagnostics)),
            },
        }
    }
}

/// Examples built at run time, borrowed for `check`.
fn borrow<N: AsRef<str>>(cases: &[(N, String)]) -> Vec<(&str, &str)> {
    cases
        .iter()
        .map(|(name, text)| (name.as_ref(), text.as_str()))
        .collect()
}

/// Valid examples must pass the schema and the parser; invalid ones must fail both. The known gaps
/// are where a JSON Schema cannot follow the parser: `looser` pass the schema and fail the parser
/// (move one to `invalid` once the schema learns to refuse it), `stricter` fail the schema and pass
/// the parser.
fn check(
    format: Format,
    valid: &[(&str, &str)],
    invalid: &[(&str, &str)],
    looser: &[(&str, &str)],
    stricter: &[(&str, &str)],
) {
    let file = format.schema_file();
    let validators = [
        ("", compile(file)),
        (" (read as draft 7)", compile_as_draft7(file)),
    ];
    let mut failures = Vec::new();
    for (name, text) in valid {
        if let Err(messages) = format.rust_verdict(text) {
            failures.push(format!(
                "valid `{name}`: the Rust parser refuses it (fix the example): {messages:?}"
            ));
        }
        for (draft, validator) in &validators {
            let errors = schema_errors(validator, &parse_toml(name, text));
            if !errors.is_empty() {
                failures.push(format!(
                    "valid `{name}`: the schema{draft} refuses it: {errors:?}"
                ));
            }
        }
    }
    for (name, text) in invalid {
        if format.rust_verdict(text).is_ok() {
            failures.push(format!(
                "invalid `{name}`: the Rust parser accepts it (fix the example)"
            ));
        }
        for (draft, validator) in &validators {
            if validator.is_valid(&parse_toml(name, text)) {
                failures.push(format!("invalid `{name}`: the schema{draft} accepts it"));
            }
        }
    }
    for (name, text) in looser {
        if format.rust_verdict(text).is_ok() {
            failures.push(format!(
                "known gap `{name}`: the Rust parser accepts it, so it is no gap"
            ));
        }
        for (draft, validator) in &validators {
            if !validator.is_valid(&parse_toml(name, text)) {
                failures.push(format!("known gap `{name}`: the schema{draft} now refuses it: move it to the invalid examples"));
            }
        }
    }
    for (name, text) in stricter {
        if let Err(messages) = format.rust_verdict(text) {
            failures.push(format!(
                "known gap `{name}`: the Rust parser refuses it, so it is no gap: {messages:?}"
            ));
        }
        for (draft, validator) in &validators {
            if validator.is_valid(&parse_toml(name, text)) {
                failures.push(format!("known gap `{name}`: the schema{draft} now accepts it: move it to the valid examples"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "schemas/{file}:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// The schema documents themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn schemas_are_valid_draft_2020_12() {
    for file in SCHEMA_FILES {
        let schema = load_schema(file);
        if let Err(err) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("schemas/{file} is not a valid draft 2020-12 schema: {err}");
        }
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "schemas/{file}: $schema"
        );
        assert_eq!(
            schema["$id"],
            format!("https://riposte.dev/schemas/{file}"),
            "schemas/{file}: $id"
        );
        assert!(schema["title"].is_string(), "schemas/{file}: no title");
        assert!(
            schema["description"].is_string(),
            "schemas/{file}: no description"
        );
        compile(file);
        compile_as_draft7(file);
    }
}

/// Resolves a local `$ref` (`#/$defs/name`) once.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref #{pointer}")),
        None => schema,
    }
}

/// Walks every subschema outside `if` (whose `properties` only test, they define nothing).
fn walk<'a>(value: &'a Value, path: String, visit: &mut dyn FnMut(&'a Value, &str)) {
    match value {
        Value::Object(map) => {
            visit(value, &path);
            for (key, child) in map {
                if key == "if"
                    || key == "examples"
                    || key == "default"
                    || key == "const"
                    || key == "enum"
                {
                    continue;
                }
                walk(child, format!("{path}/{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}/{i}"), visit);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_is_described_and_closed_objects_stay_closed() {
    for file in SCHEMA_FILES {
        let root = load_schema(file);
        let mut problems = Vec::new();
        walk(&root, String::new(), &mut |schema, path| {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (name, property) in properties {
                let described = property.get("description").is_some()
                    || resolve(&root, property).get("description").is_some();
                if !described {
                    problems.push(format!("{path}/properties/{name} has no description"));
                }
            }
            // A tagged union (`oneOf` of closed variants) is closed by its variants; everything else
            // mirrors a `deny_unknown_fields` struct and must refuse unknown keys itself.
            let in_then = path.contains("/then");
            if schema.get("oneOf").is_none()
                && !in_then
                && schema.get("additionalProperties") != Some(&json!(false))
            {
                problems.push(format!(
                    "{path} lists properties but does not set additionalProperties: false"
                ));
            }
        });
        assert!(
            problems.is_empty(),
            "schemas/{file}:\n  {}",
            problems.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The schemas and the Rust definitions name the same things
// ---------------------------------------------------------------------------------------------

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn enums_match_the_rust_constants() {
    let config = load_schema("riposte.schema.json");
    assert_eq!(
        strings(&config["properties"]["python"]["properties"]["version"]["enum"]),
        PYTHON_VERSIONS
    );

    let profile = load_schema("integration-profile.schema.json");
    assert_eq!(
        strings(&profile["$defs"]["auth"]["properties"]["method"]["enum"]),
        AUTH_METHODS
    );
    let variants: Vec<&str> = profile["$defs"]["auth"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| {
            resolve(&profile, variant)["properties"]["method"]["const"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        variants, AUTH_METHODS,
        "one auth variant per method, in order"
    );

    let rule = load_schema("automation-rule.schema.json");
    let condition = &rule["$defs"]["condition"];
    assert_eq!(
        strings(&condition["properties"]["operator"]["enum"]),
        OPERATORS
    );
    assert_eq!(
        strings(&condition["properties"]["field"]["anyOf"][0]["enum"]),
        CONDITION_FIELDS
    );
}

#[test]
fn every_rule_code_is_accepted_in_lint_settings() {
    let validator = compile("riposte.schema.json");
    for rule in Rule::ALL {
        let code = rule.code();
        let lower = code.to_ascii_lowercase();
        let text = format!(
            "[lint]\nselect = [\"{code}\", \"{lower}\"]\nignore = [\"{code}\"]\n[lint.severity]\n{code} = \"info\"\n"
        );
        let instance = parse_toml(code, &text);
        assert!(
            schema_errors(&validator, &instance).is_empty(),
            "{code}: {:?}",
            schema_errors(&validator, &instance)
        );
        assert!(
            Config::parse(&text).is_ok(),
            "{code}: {:?}",
            Config::parse(&text).err()
        );
    }
}

/// Each `default` in the schema is what the parser fills in when the key is absent.
#[test]
fn defaults_match_the_rust_defaults() {
    let config = load_schema("riposte.schema.json");
    let parsed = serde_json::to_value(Config::parse("").unwrap()).unwrap();
    for (table, schema) in config["properties"].as_object().unwrap() {
        for (key, property) in schema["properties"].as_object().unwrap() {
            match property.get("default") {
                Some(default) => {
                    assert_eq!(default, &parsed[table][key], "riposte.toml [{table}] {key}")
                }
                None => assert_eq!(
                    parsed[table][key],
                    Value::Null,
                    "riposte.toml [{table}] {key} has a default the schema omits"
                ),
            }
        }
    }

    let rule = load_schema("automation-rule.schema.json");
    let text = "[[actions]]\ntype = \"run_playbook\"\nplaybook = \"p\"\n";
    let parsed = serde_json::to_value(AutomationRule::parse(text, &|_| true).0.unwrap()).unwrap();
    for (key, property) in rule["properties"].as_object().unwrap() {
        if let Some(default) = property.get("default") {
            assert_eq!(default, &parsed[key], "rule `{key}`");
        }
    }

    let profile = load_schema("integration-profile.schema.json");
    let text = "name = \"H\"\nbase_url = \"https://h.example\"\n[auth]\nmethod = \"hawk\"\n";
    let parsed = serde_json::to_value(Profile::parse(text).0.unwrap()).unwrap();
    assert_eq!(
        profile["$defs"]["hawk"]["properties"]["algorithm"]["default"],
        parsed["auth"]["algorithm"]
    );
    assert_eq!(
        profile["properties"]["description"]["default"],
        parsed["description"]
    );
    assert_eq!(
        profile["$defs"]["oauth2_client_credentials"]["properties"]["scopes"]["default"],
        json!([])
    );
}

// ---------------------------------------------------------------------------------------------
// riposte.toml
// ---------------------------------------------------------------------------------------------

#[test]
fn riposte_toml_examples() {
    let valid = [
        ("empty file", ""),
        (
            "every key",
            r#"
[python]
version = "3.13"
executable = "/usr/bin/python3.13"

[limits]
max_lines = 2000
run_timeout_secs = 60
memory_mb = 256
max_playbooks = 10
max_integrations = 20
max_active_rules = 30
llm_tokens_per_day = 1000000

[lint]
select = ["RP0", "RP101"]
ignore = ["RP014"]

[lint.severity]
RP011 = "error"
RP014 = "info"
RP006 = "warning"

[engine]
url = "http://127.0.0.1:8787"
"#,
        ),
        (
            "select ALL, any case",
            "[lint]\nselect = [\"all\", \"rp\", \"Rp01\"]\n",
        ),
        (
            "lower-case severity code",
            "[lint.severity]\nrp011 = \"error\"\n",
        ),
        (
            "zero memory is allowed",
            "[limits]\nmemory_mb = 0\nmax_playbooks = 0\n",
        ),
        ("python 3.10", "[python]\nversion = \"3.10\"\n"),
    ];
    let invalid = [
        ("unknown table", "[linter]\nselect = [\"RP\"]\n"),
        ("unknown top-level key", "version = \"3.11\"\n"),
        ("unknown key in [limits]", "[limits]\nmax_line = 100\n"),
        ("unknown key in [python]", "[python]\npath = \"python3\"\n"),
        ("unknown key in [engine]", "[engine]\ntoken = \"x\"\n"),
        ("unsupported python", "[python]\nversion = \"3.9\"\n"),
        ("python version as a number", "[python]\nversion = 3.11\n"),
        ("zero max_lines", "[limits]\nmax_lines = 0\n"),
        ("zero run_timeout_secs", "[limits]\nrun_timeout_secs = 0\n"),
        ("negative limit", "[limits]\nmemory_mb = -1\n"),
        ("limit as a string", "[limits]\nmax_lines = \"5000\"\n"),
        ("unknown severity", "[lint.severity]\nRP011 = \"fatal\"\n"),
        (
            "severity is case-sensitive",
            "[lint.severity]\nRP011 = \"Error\"\n",
        ),
        (
            "severity key not a code",
            "[lint.severity]\nE501 = \"error\"\n",
        ),
        (
            "severity key too short",
            "[lint.severity]\nRP11 = \"error\"\n",
        ),
        ("select a foreign code", "[lint]\nselect = [\"E501\"]\n"),
        ("select one letter", "[lint]\nselect = [\"R\"]\n"),
        ("select empty string", "[lint]\nselect = [\"\"]\n"),
        ("select as a string", "[lint]\nselect = \"RP\"\n"),
        ("ignore a foreign code", "[lint]\nignore = [\"F401\"]\n"),
        ("python as a string", "python = \"3.11\"\n"),
    ];
    let looser = [
        // The schema checks the shape of a code, not that a rule has it.
        ("prefix of no rule", "[lint]\nselect = [\"RP2\"]\n"),
        ("code of no rule", "[lint.severity]\nRP999 = \"error\"\n"),
        // JSON has one number type: 5000.0 is an integer to a JSON Schema, a float to TOML.
        ("float limit", "[limits]\nmax_lines = 5000.0\n"),
    ];
    check(Format::Config, &valid, &invalid, &looser, &[]);
}

// ---------------------------------------------------------------------------------------------
// integrations/*.toml
// ---------------------------------------------------------------------------------------------

const PROFILE_HEAD: &str = "name = \"Example\"\nbase_url = \"https://api.example.com/v1\"\n";

#[test]
fn integration_profile_examples() {
    let named: Vec<(&str, String)> = vec![
        (
            "api_key in a header, every top-level key",
            r#"
name = "VirusTotal"
description = "VirusTotal v3: file, URL, IP and domain reputation"
base_url = "https://www.virustotal.com/api/v3"
api = "virustotal"
timeout_secs = 10

[auth]
method = "api_key"
header = "x-apikey"
"#
            .into(),
        ),
        (
            "api_key in the query",
            format!("{PROFILE_HEAD}[auth]\nmethod = \"api_key\"\nquery = \"key\"\n"),
        ),
        (
            "oauth2 with scopes",
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"https://login.example.com/oauth2/token\"\nscopes = [\"https://graph.microsoft.com/.default\"]\n"
            ),
        ),
        (
            "oauth2 without scopes",
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"http://127.0.0.1:9000/token\"\n"
            ),
        ),
        (
            "aws_sigv4",
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"aws_sigv4\"\nregion = \"us-east-1\"\nservice = \"iam\"\n"
            ),
        ),
        (
            "basic",
            format!("{PROFILE_HEAD}[auth]\nmethod = \"basic\"\n"),
        ),
        (
            "bearer",
            format!("{PROFILE_HEAD}[auth]\nmethod = \"bearer\"\n"),
        ),
        (
            "hawk, default algorithm",
            format!("{PROFILE_HEAD}[auth]\nmethod = \"hawk\"\n"),
        ),
        (
            "hawk sha1",
            format!("{PROFILE_HEAD}[auth]\nmethod = \"hawk\"\nalgorithm = \"sha1\"\n"),
        ),
        (
            "api file",
            format!(
                "{PROFILE_HEAD}api = \"apis/threat-intel.json\"\n[auth]\nmethod = \"bearer\"\n"
            ),
        ),
        (
            "inline auth table",
            "name = \"X\"\nbase_url = \"https://x.example\"\nauth = { method = \"bearer\" }\n"
                .into(),
        ),
    ];
    let mut valid: Vec<(String, String)> =
        named.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
    for url in [
        "https://example.com",
        "https://example.com/",
        "https://example.com:8443/api/v2",
        "HTTPS://Example.COM/api",
        "https://10.0.0.5/api",
        "https://[2001:db8::1]:443/x",
        "https://example.com/users/@me",
        "http://localhost",
        "http://localhost:8080/api",
        "http://LOCALHOST:8080",
        "http://127.0.0.1:9000/api/v3",
        "http://127.255.10.1/",
        "http://[::1]:8443/",
        "http://[0:0:0:0:0:0:0:1]/",
    ] {
        valid.push((
            format!("base_url `{url}`"),
            format!("name = \"X\"\nbase_url = \"{url}\"\n[auth]\nmethod = \"bearer\"\n"),
        ));
    }

    let mut invalid: Vec<(String, String)> = vec![
        (
            "unknown top-level key".into(),
            format!("{PROFILE_HEAD}retries = 3\n[auth]\nmethod = \"bearer\"\n"),
        ),
        (
            "unknown key in [auth]".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"bearer\"\nprefix = \"Token\"\n"),
        ),
        (
            "api_key with header and query".into(),
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"api_key\"\nheader = \"x-apikey\"\nquery = \"key\"\n"
            ),
        ),
        (
            "api_key with neither header nor query".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"api_key\"\n"),
        ),
        (
            "api_key with a blank header".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"api_key\"\nheader = \" \"\n"),
        ),
        (
            "unknown method".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"ntlm\"\n"),
        ),
        (
            "method missing".into(),
            format!("{PROFILE_HEAD}[auth]\nheader = \"x-apikey\"\n"),
        ),
        ("auth missing".into(), PROFILE_HEAD.into()),
        (
            "auth as a string".into(),
            format!("{PROFILE_HEAD}auth = \"bearer\"\n"),
        ),
        (
            "name missing".into(),
            "base_url = \"https://x.example\"\n[auth]\nmethod = \"bearer\"\n".into(),
        ),
        (
            "blank name".into(),
            "name = \"  \"\nbase_url = \"https://x.example\"\n[auth]\nmethod = \"bearer\"\n".into(),
        ),
        (
            "base_url missing".into(),
            "name = \"X\"\n[auth]\nmethod = \"bearer\"\n".into(),
        ),
        (
            "blank api".into(),
            format!("{PROFILE_HEAD}api = \"\"\n[auth]\nmethod = \"bearer\"\n"),
        ),
        (
            "negative timeout".into(),
            format!("{PROFILE_HEAD}timeout_secs = -1\n[auth]\nmethod = \"bearer\"\n"),
        ),
        (
            "oauth2 without token_url".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"oauth2_client_credentials\"\n"),
        ),
        (
            "oauth2 token_url over http to a public host".into(),
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"http://login.example.com/token\"\n"
            ),
        ),
        (
            "aws_sigv4 without region".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"aws_sigv4\"\nservice = \"iam\"\n"),
        ),
        (
            "aws_sigv4 blank service".into(),
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"aws_sigv4\"\nregion = \"us-east-1\"\nservice = \"\"\n"
            ),
        ),
        (
            "hawk md5".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"hawk\"\nalgorithm = \"md5\"\n"),
        ),
        (
            "basic with a header".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"basic\"\nheader = \"Authorization\"\n"),
        ),
        (
            "bearer with scopes".into(),
            format!("{PROFILE_HEAD}[auth]\nmethod = \"bearer\"\nscopes = [\"a\"]\n"),
        ),
        (
            "api_key with another method's key".into(),
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"api_key\"\nheader = \"x\"\ntoken_url = \"https://x.example/t\"\n"
            ),
        ),
    ];
    // A secret is refused wherever it is written: at the top level and in [auth].
    for (method, extra, secret) in [
        (
            "oauth2_client_credentials",
            "token_url = \"https://login.example.com/t\"\n",
            "client_id",
        ),
        (
            "oauth2_client_credentials",
            "token_url = \"https://login.example.com/t\"\n",
            "client_secret",
        ),
        ("api_key", "header = \"x-apikey\"\n", "api_key"),
        (
            "aws_sigv4",
            "region = \"us-east-1\"\nservice = \"iam\"\n",
            "access_key_id",
        ),
        (
            "aws_sigv4",
            "region = \"us-east-1\"\nservice = \"iam\"\n",
            "secret_access_key",
        ),
        (
            "aws_sigv4",
            "region = \"us-east-1\"\nservice = \"iam\"\n",
            "session_token",
        ),
        ("basic", "", "username"),
        ("basic", "", "password"),
        ("bearer", "", "token"),
        ("hawk", "", "hawk_id"),
        ("hawk", "", "hawk_key"),
    ] {
        invalid.push((
            format!("secret `{secret}` in [auth]"),
            format!(
                "{PROFILE_HEAD}[auth]\nmethod = \"{method}\"\n{extra}{secret} = \"s3cr3t-value\"\n"
            ),
        ));
        invalid.push((
            format!("secret `{secret}` at the top level"),
            format!(
                "{PROFILE_HEAD}{secret} = \"s3cr3t-value\"\n[auth]\nmethod = \"{method}\"\n{extra}"
            ),
        ));
    }
    for url in [
        "http://www.virustotal.com/api/v3",
        "http://10.0.0.5/api",
        "http://192.168.1.10:8080",
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "http://[::2]/",
        "ftp://files.example.com/",
        "ws://localhost:9000/",
        "www.virustotal.com/api/v3",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "http://user@localhost/",
        "https://example.com/api?key=1",
        "https://example.com/api?",
        "https://example.com/#top",
        "",
    ] {
        invalid.push((
            format!("base_url `{url}`"),
            format!("name = \"X\"\nbase_url = \"{url}\"\n[auth]\nmethod = \"bearer\"\n"),
        ));
    }
    let profile =
        |url: &str| format!("name = \"X\"\nbase_url = \"{url}\"\n[auth]\nmethod = \"bearer\"\n");
    // A pattern reads a URL as written; the parser reads it the WHATWG way, which repairs and
    // normalises what it can.
    let looser = vec![("port out of range", profile("https://example.com:99999/"))];
    let stricter = vec![
        ("IPv4 loopback in short form", profile("http://127.1/")),
        ("IPv4 loopback as one number", profile("http://2130706433/")),
        ("three slashes", profile("https:///example.com/")),
        ("surrounding spaces", profile(" https://example.com ")),
        // `format: uri` (RFC 3986) wants the space percent-encoded; the parser encodes it itself.
        ("a space in the path", profile("https://example.com/a b")),
    ];

    check(
        Format::Profile,
        &borrow(&valid),
        &borrow(&invalid),
        &borrow(&looser),
        &borrow(&stricter),
    );
}

// ---------------------------------------------------------------------------------------------
// rules/*.toml
// ---------------------------------------------------------------------------------------------

const RUN: &str = "[[actions]]\ntype = \"run_playbook\"\nplaybook = \"vt-url-enrichment\"\n";

fn condition(field: &str, operator: &str, value: Option<&str>) -> String {
    let value = value.map(|v| format!("value = {v}\n")).unwrap_or_default();
    format!("[[conditions]]\nfield = \"{field}\"\noperator = \"{operator}\"\n{value}{RUN}")
}

#[test]
fn automation_rule_examples() {
    let mut valid: Vec<(String, String)> = vec![
        ("only an action".into(), RUN.into()),
        (
            "every top-level key".into(),
            format!(
                r#"
name = "Block AWS IAM users on high severity"
description = "High-severity alerts about AWS block the IAM users involved."
enabled = false
order = 0
trigger = "alert_updated"
workspaces = ["soc-eu", "soc-us"]

[[conditions]]
field = "severity"
operator = "gte"
value = "high"

[[conditions]]
field = "provider"
operator = "in"
value = ["microsoftDefenderForCloudApps", "microsoftCloudAppSecurity"]

{RUN}"#
            ),
        ),
        ("update_alert".into(), "[[actions]]\ntype = \"update_alert\"\nstatus = \"resolved\"\nclassification = \"informationalExpectedActivity\"\n".into()),
        ("update_alert assigned_to only".into(), "[[actions]]\ntype = \"update_alert\"\nassigned_to = \"soc-tier2@contoso.com\"\n".into()),
        ("inline action".into(), "actions = [{ type = \"run_playbook\", playbook = \"p\" }]\n".into()),
        ("largest order".into(), format!("order = 4294967295\n{RUN}")),
    ];
    for (field, operator, value) in [
        ("title", "equals", Some("\"Suspicious sign-in\"")),
        ("title", "not_equals", Some("\"x\"")),
        ("entity_kinds", "contains", Some("\"url\"")),
        ("tactics", "not_contains", Some("\"Execution\"")),
        ("id", "starts_with", Some("\"da\"")),
        ("description", "ends_with", Some("\".exe\"")),
        (
            "raw.serviceSource",
            "equals",
            Some("\"microsoftDefenderForEndpoint\""),
        ),
        ("raw.evidence.0.url", "exists", None),
        ("incident_id", "exists", Some("false")),
        ("status", "in", Some("[\"new\", \"inProgress\"]")),
        ("techniques", "not_in", Some("[]")),
        ("title", "matches", Some("\"(?i)phish\"")),
        ("severity", "gte", Some("\"medium\"")),
        ("severity", "lte", Some("\"LOW\"")),
        ("severity", "equals", Some("\"High\"")),
        ("severity", "not_equals", Some("\"informational\"")),
        ("severity", "equals", Some("3")),
        ("severity", "contains", Some("\"anything\"")),
        ("detection_source", "equals", Some("true")),
        ("raw.riskScore", "equals", Some("87.5")),
        (
            "raw.createdDateTime",
            "equals",
            Some("2024-05-01T10:00:00Z"),
        ),
        ("raw.riskScore", "gte", Some("80")),
        ("raw.riskScore", "lte", Some("0.5")),
        ("severity", "in", Some("[\"high\", \"Medium\"]")),
        (
            "raw.evidence.0.verdict",
            "not_in",
            Some("[\"malicious\", 1, true]"),
        ),
    ] {
        valid.push((
            format!("{field} {operator} {value:?}"),
            condition(field, operator, value),
        ));
    }

    let mut invalid: Vec<(String, String)> = vec![
        (
            "two actions".into(),
            format!("{RUN}[[actions]]\ntype = \"update_alert\"\nstatus = \"resolved\"\n"),
        ),
        ("no action".into(), "actions = []\n".into()),
        ("actions missing".into(), "name = \"x\"\n".into()),
        (
            "unknown top-level key".into(),
            format!("priority = 1\n{RUN}"),
        ),
        (
            "unknown action type".into(),
            "[[actions]]\ntype = \"send_email\"\nto = \"soc@contoso.com\"\n".into(),
        ),
        (
            "action without type".into(),
            "[[actions]]\nplaybook = \"p\"\n".into(),
        ),
        (
            "unknown key in an action".into(),
            format!("{RUN}timeout = 5\n"),
        ),
        (
            "run_playbook without playbook".into(),
            "[[actions]]\ntype = \"run_playbook\"\n".into(),
        ),
        (
            "run_playbook with update fields".into(),
            format!("{RUN}status = \"resolved\"\n"),
        ),
        (
            "update_alert that changes nothing".into(),
            "[[actions]]\ntype = \"update_alert\"\n".into(),
        ),
        (
            "update_alert with a playbook".into(),
            "[[actions]]\ntype = \"update_alert\"\nstatus = \"resolved\"\nplaybook = \"p\"\n"
                .into(),
        ),
        ("empty workspaces".into(), format!("workspaces = []\n{RUN}")),
        (
            "unknown trigger".into(),
            format!("trigger = \"alert_deleted\"\n{RUN}"),
        ),
        ("negative order".into(), format!("order = -1\n{RUN}")),
        (
            "order beyond u32".into(),
            format!("order = 4294967296\n{RUN}"),
        ),
        (
            "enabled as a string".into(),
            format!("enabled = \"yes\"\n{RUN}"),
        ),
        (
            "unknown key in a condition".into(),
            format!(
                "[[conditions]]\nfield = \"title\"\noperator = \"exists\"\nnegate = true\n{RUN}"
            ),
        ),
        (
            "condition without operator".into(),
            format!("[[conditions]]\nfield = \"title\"\nvalue = \"x\"\n{RUN}"),
        ),
        (
            "condition without field".into(),
            format!("[[conditions]]\noperator = \"exists\"\n{RUN}"),
        ),
    ];
    for (field, operator, value) in [
        ("severity", "greater_than", Some("\"high\"")),
        ("title", "Equals", Some("\"x\"")),
        ("severity_level", "equals", Some("\"high\"")),
        ("Title", "equals", Some("\"x\"")),
        ("raw.", "exists", None),
        ("raw", "exists", None),
        ("provider", "in", Some("\"microsoftDefenderForEndpoint\"")),
        ("provider", "not_in", None),
        ("title", "gte", Some("\"high\"")),
        ("severity", "gte", Some("\"critical\"")),
        ("severity", "lte", Some("3")),
        ("severity", "gte", None),
        ("title", "matches", None),
        ("title", "matches", Some("42")),
        ("title", "exists", Some("\"yes\"")),
        ("title", "equals", None),
        ("title", "equals", Some("[\"a\", \"b\"]")),
        ("title", "contains", Some("{ a = 1 }")),
        ("severity", "equals", Some("\"critical\"")),
        ("severity", "not_equals", Some("\"sev1\"")),
        ("raw.riskScore", "gte", Some("\"80\"")),
        ("raw.riskScore", "lte", Some("true")),
        ("raw.a..b", "exists", None),
        ("raw.a.", "exists", None),
        ("title", "equals", Some("\"\"")),
        ("title", "contains", Some("\"\"")),
        ("status", "in", Some("[\"new\", [\"x\"]]")),
        ("status", "in", Some("[\"\"]")),
        ("severity", "in", Some("[\"high\", \"critical\"]")),
        ("severity", "not_in", Some("[\"sev1\"]")),
    ] {
        invalid.push((
            format!("{field} {operator} {value:?}"),
            condition(field, operator, value),
        ));
    }
    let looser: Vec<(String, String)> = vec![
        // Whether a string is a valid Rust regular expression is the parser's to say.
        (
            "matches with a broken regex".into(),
            condition("title", "matches", Some("\"(unclosed\"")),
        ),
    ];

    check(
        Format::Rule,
        &borrow(&valid),
        &borrow(&invalid),
        &borrow(&looser),
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// The demo workspace
// ---------------------------------------------------------------------------------------------

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Every riposte.toml, profile and rule of `fixtures/workspace/` passes its schema (and the
/// parser, so a fixture that passes one and not the other shows up here).
#[test]
fn demo_workspace_files_pass_their_schemas() {
    let workspace = repo_root().join("fixtures/workspace");
    if !workspace.is_dir() {
        return;
    }
    let mut files: Vec<(Format, PathBuf)> = Vec::new();
    let config = workspace.join("riposte.toml");
    if config.is_file() {
        files.push((Format::Config, config));
    }
    files.extend(
        toml_files(&workspace.join("integrations"))
            .into_iter()
            .map(|p| (Format::Profile, p)),
    );
    files.extend(
        toml_files(&workspace.join("rules"))
            .into_iter()
            .map(|p| (Format::Rule, p)),
    );

    let mut failures = Vec::new();
    for (format, path) in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let name = path.display().to_string();
        let errors = schema_errors(&compile(format.schema_file()), &parse_toml(&name, &text));
        if !errors.is_empty() {
            failures.push(format!(
                "{name}: schemas/{} refuses it: {errors:?}",
                format.schema_file()
            ));
        }
        if let Err(messages) = format.rust_verdict(&text) {
            failures.push(format!("{name}: the Rust parser refuses it: {messages:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
