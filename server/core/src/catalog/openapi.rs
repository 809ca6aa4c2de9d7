//! Reads an OpenAPI 3.0/3.1 JSON document into an [`ApiCatalog`]: methods, path templates,
//! parameters and top-level body fields, which is all validation needs. Anything else in the
//! document is ignored, and a part it cannot make sense of (an external or dangling `$ref`, a
//! parameter without a name) is skipped rather than failing the whole catalog, so that one odd
//! operation in a large vendor document does not cost the user every other check.

use serde_json::{Map, Value};

use super::path::parse_template;
use super::{ApiCatalog, Endpoint, HttpMethod, Param};

/// Why a document cannot be used as an API catalog. Messages name the fix; the caller prefixes
/// them with where the document came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("the API document is empty: expected an OpenAPI 3.0 or 3.1 document in JSON")]
    Empty,
    #[error(
        "the API document looks like YAML, but Riposte reads OpenAPI documents in JSON: convert it \
         (for example `yq -o=json . openapi.yaml > openapi.json`) and point `api` at the .json file"
    )]
    Yaml,
    #[error(
        "the API document is not valid JSON: {message} at line {line}, column {column}; fix it, \
         or export the document again as JSON"
    )]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the API document is JSON but not an object: expected an OpenAPI 3.0 or 3.1 document")]
    NotAnObject,
    #[error(
        "the API document is Swagger {version}, but Riposte reads OpenAPI 3.0 and 3.1: convert it \
         (for example with swagger2openapi, or the Swagger Editor's \"Convert to OpenAPI 3\") and \
         point `api` at the result"
    )]
    Swagger2 { version: String },
    #[error(
        "the API document has no `openapi` field: expected an OpenAPI 3.0 or 3.1 document, which \
         starts with `\"openapi\": \"3.0.3\"` (or another 3.x version)"
    )]
    MissingVersion,
    #[error("the API document declares OpenAPI {version}, but Riposte reads OpenAPI 3.0 and 3.1")]
    UnsupportedVersion { version: String },
    #[error(
        "the API document has no `paths` object, so it declares no endpoint: list the operations \
         the playbooks call under `paths`"
    )]
    MissingPaths,
}

/// How many `$ref` hops are followed before a chain is taken for a cycle.
const MAX_REF_HOPS: usize = 16;
/// How deep `allOf` compositions are followed when collecting body fields.
const MAX_SCHEMA_DEPTH: usize = 8;
/// Longest description kept: hover shows a line, not the vendor's essay.
const MAX_DESCRIPTION_CHARS: usize = 300;

const METHODS: [(&str, HttpMethod); 5] = [
    ("get", HttpMethod::Get),
    ("post", HttpMethod::Post),
    ("put", HttpMethod::Put),
    ("patch", HttpMethod::Patch),
    ("delete", HttpMethod::Delete),
];

pub(super) fn parse(name: &str, text: &str) -> Result<ApiCatalog, CatalogError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    let root: Value = serde_json::from_str(text).map_err(|err| {
        if looks_like_yaml(text) {
            CatalogError::Yaml
        } else {
            json_error(&err)
        }
    })?;
    let Value::Object(doc) = &root else {
        return Err(CatalogError::NotAnObject);
    };
    check_version(doc)?;
    let Some(Value::Object(paths)) = doc.get("paths") else {
        return Err(CatalogError::MissingPaths);
    };

    let mut endpoints = Vec::new();
    for (key, item) in paths {
        // `paths` may carry extensions; they are not paths.
        if key.starts_with("x-") {
            continue;
        }
        let Some(item) = resolve(&root, item) else {
            continue;
        };
        let (path, key_action) = split_path_key(key);
        for (field, method) in METHODS {
            let Some(operation) = item.get(field).and_then(|op| resolve(&root, op)) else {
                continue;
            };
            endpoints.push(endpoint(
                &root,
                &path,
                key_action.as_deref(),
                method,
                item.get("parameters"),
                operation,
            ));
        }
    }
    endpoints.sort_by(|a, b| (&a.path, &a.action, a.method).cmp(&(&b.path, &b.action, b.method)));

    let title = doc
        .get("info")
        .and_then(|info| info.get("title"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|title| !title.is_empty())
        .unwrap_or(name)
        .to_owned();
    Ok(ApiCatalog {
        name: name.to_owned(),
        title,
        server_path: server_path(doc),
        endpoints,
    })
}

fn json_error(err: &serde_json::Error) -> CatalogError {
    // serde_json appends the position to its message; it is reported in fields of its own.
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    CatalogError::Json {
        line: err.line(),
        column: err.column(),
        message,
    }
}

/// YAML is the most common way OpenAPI documents are written, so a document that fails as JSON
/// but opens like YAML gets a message about converting it rather than a JSON syntax error.
fn looks_like_yaml(text: &str) -> bool {
    let Some(first) = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
    else {
        return false;
    };
    // A JSON document missing its opening brace still has JSON's commas.
    if first.starts_with('{') || first.starts_with('[') || first.ends_with(',') {
        return false;
    }
    if first.starts_with("---") || first.starts_with("%YAML") {
        return true;
    }
    first.split_once(':').is_some_and(|(key, rest)| {
        let key = key.trim_matches(['"', '\'']);
        !key.is_empty()
            && !key.contains(char::is_whitespace)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    })
}

fn check_version(doc: &Map<String, Value>) -> Result<(), CatalogError> {
    let version = |value: &Value| match value {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    match doc.get("openapi") {
        Some(value) => {
            let version = version(value);
            if version == "3" || version.starts_with("3.") {
                Ok(())
            } else {
                Err(CatalogError::UnsupportedVersion { version })
            }
        }
        None => match doc.get("swagger") {
            Some(value) => Err(CatalogError::Swagger2 {
                version: version(value),
            }),
            None => Err(CatalogError::MissingVersion),
        },
    }
}

/// The path part of `servers[0].url`, with server variables replaced by their defaults; "" when
/// the document names no server or the URL has no path.
fn server_path(doc: &Map<String, Value>) -> String {
    let Some(server) = doc
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|servers| servers.first())
    else {
        return String::new();
    };
    let Some(url) = server.get("url").and_then(Value::as_str) else {
        return String::new();
    };
    let variables = server.get("variables");
    let mut expanded = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        expanded.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        if let Some(default) = variables
            .and_then(|vars| vars.get(name))
            .and_then(|var| var.get("default"))
            .and_then(Value::as_str)
        {
            expanded.push_str(default);
        }
        rest = &rest[close + 1..];
    }
    expanded.push_str(rest);

    let after_scheme = match expanded.find("://") {
        Some(i) => Some(&expanded[i + 3..]),
        None => expanded.strip_prefix("//"),
    };
    let path = match after_scheme {
        Some(host_and_path) => host_and_path
            .find('/')
            .map_or("", |slash| &host_and_path[slash..]),
        None => expanded.as_str(),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_matches('/');
    if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    }
}

/// A path key and the AWS Query action it names, if any. APIs.guru writes AWS Query operations as
/// `/#Action=ListUsers` (the fragment keeps the keys unique); some documents use `/?Action=…`.
fn split_path_key(key: &str) -> (String, Option<String>) {
    let (path, extra) = match key.find(['#', '?']) {
        Some(i) => (&key[..i], &key[i + 1..]),
        None => (key, ""),
    };
    let action = extra
        .split(['&', '#', '?'])
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "Action")
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty());
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    (path, action)
}

struct RawParam {
    name: String,
    location: String,
    required: bool,
    description: String,
    single_value: Option<String>,
}

fn endpoint(
    root: &Value,
    path: &str,
    key_action: Option<&str>,
    method: HttpMethod,
    shared_params: Option<&Value>,
    operation: &Value,
) -> Endpoint {
    let params = merged_parameters(root, shared_params, operation.get("parameters"));
    // A document without the `#Action=` key convention may still pin the action with a
    // one-value enum on its `Action` parameter.
    let action = key_action.map(str::to_owned).or_else(|| {
        params
            .iter()
            .find(|p| p.location == "query" && p.name == "Action")
            .and_then(|p| p.single_value.clone())
    });
    let is_action_param = |name: &str| action.is_some() && name == "Action";

    let template = parse_template(path);
    let mut path_params: Vec<String> = Vec::new();
    for segment in &template {
        for name in segment.params() {
            if !path_params.iter().any(|p| p == name) {
                path_params.push(name.to_owned());
            }
        }
    }
    let query = params
        .iter()
        .filter(|p| p.location == "query" && !is_action_param(&p.name))
        .map(|p| Param {
            name: p.name.clone(),
            required: p.required,
            description: p.description.clone(),
        })
        .collect();

    let (mut body, body_required) = request_body(root, operation.get("requestBody"));
    body.retain(|p| !is_action_param(&p.name));

    let mutating = operation
        .get("x-riposte-mutating")
        .and_then(Value::as_bool)
        .unwrap_or_else(|| match &action {
            // The Query APIs send reads and writes alike with either method; AWS names every
            // read-only action List*, Get* or Describe*.
            Some(action) => !["List", "Get", "Describe"]
                .iter()
                .any(|prefix| action.starts_with(prefix)),
            None => method.is_mutating(),
        });

    Endpoint {
        method,
        path: path.to_owned(),
        action,
        summary: summary(operation),
        path_params,
        query,
        body,
        body_required,
        mutating,
        template,
    }
}

fn summary(operation: &Value) -> String {
    let text = |field: &str| {
        operation
            .get(field)
            .and_then(Value::as_str)
            .map(short)
            .filter(|s| !s.is_empty())
    };
    text("summary")
        .or_else(|| text("description"))
        .or_else(|| text("operationId"))
        .unwrap_or_default()
}

/// The first paragraph, whitespace collapsed, cut to a line's worth.
fn short(text: &str) -> String {
    let paragraph = text.trim().split("\n\n").next().unwrap_or_default();
    let collapsed = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_DESCRIPTION_CHARS {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Path-item parameters overridden by the operation's own with the same name and location
/// (OpenAPI's rule). Header and cookie parameters are the runtime's business, not the playbook's.
fn merged_parameters(root: &Value, shared: Option<&Value>, own: Option<&Value>) -> Vec<RawParam> {
    let mut merged: Vec<RawParam> = Vec::new();
    for list in [shared, own].into_iter().flatten() {
        let Some(list) = resolve(root, list).and_then(Value::as_array) else {
            continue;
        };
        for raw in list {
            let Some(param) = resolve(root, raw).and_then(|p| raw_param(root, p)) else {
                continue;
            };
            if !matches!(param.location.as_str(), "path" | "query") {
                continue;
            }
            match merged
                .iter_mut()
                .find(|p| p.name == param.name && p.location == param.location)
            {
                Some(existing) => *existing = param,
                None => merged.push(param),
            }
        }
    }
    merged
}

fn raw_param(root: &Value, param: &Value) -> Option<RawParam> {
    let name = param.get("name")?.as_str()?.to_owned();
    let location = param.get("in")?.as_str()?.to_owned();
    let required = location == "path"
        || param
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let description = param
        .get("description")
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_default();
    let single_value = param
        .get("schema")
        .and_then(|schema| resolve(root, schema))
        .and_then(|schema| schema.get("enum"))
        .and_then(Value::as_array)
        .filter(|values| values.len() == 1)
        .and_then(|values| values[0].as_str())
        .map(str::to_owned);
    Some(RawParam {
        name,
        location,
        required,
        description,
        single_value,
    })
}

/// The top-level fields of the request body, and whether a body is required. JSON is preferred,
/// then a URL-encoded form, then a multipart form: the shapes a playbook sends with `json=`/`data=`.
fn request_body(root: &Value, body: Option<&Value>) -> (Vec<Param>, bool) {
    let Some(body) = body.and_then(|b| resolve(root, b)) else {
        return (Vec::new(), false);
    };
    let required = body
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        return (Vec::new(), required);
    };
    let rank = |media: &str| {
        let media = media
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media == "application/json" || media.ends_with("+json") {
            Some(0)
        } else if media == "application/x-www-form-urlencoded" {
            Some(1)
        } else if media == "multipart/form-data" {
            Some(2)
        } else {
            None
        }
    };
    let chosen = content
        .iter()
        .filter_map(|(media, value)| rank(media).map(|r| (r, value)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, value)| value);
    let mut fields = Vec::new();
    let mut required_names = Vec::new();
    if let Some(schema) = chosen.and_then(|media| media.get("schema")) {
        collect_fields(root, schema, 0, &mut fields, &mut required_names);
    }
    for field in &mut fields {
        field.required = required_names.contains(&field.name);
    }
    (fields, required)
}

fn collect_fields(
    root: &Value,
    schema: &Value,
    depth: usize,
    fields: &mut Vec<Param>,
    required: &mut Vec<String>,
) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    let Some(schema) = resolve(root, schema) else {
        return;
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            if fields.iter().any(|f| &f.name == name) {
                continue;
            }
            let description = property
                .get("description")
                .or_else(|| resolve(root, property).and_then(|p| p.get("description")))
                .and_then(Value::as_str)
                .map(short)
                .unwrap_or_default();
            fields.push(Param {
                name: name.clone(),
                required: false,
                description,
            });
        }
    }
    if let Some(names) = schema.get("required").and_then(Value::as_array) {
        required.extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            collect_fields(root, part, depth + 1, fields, required);
        }
    }
    // Alternatives contribute fields a body may have, but none is required by all of them.
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            for part in parts {
                collect_fields(root, part, depth + 1, fields, &mut Vec::new());
            }
        }
    }
}

/// Follows local `$ref`s (`#/components/...`). External references, dangling ones and cycles give
/// `None`, which callers treat as "nothing here".
fn resolve<'a>(root: &'a Value, value: &'a Value) -> Option<&'a Value> {
    let mut current = value;
    for _ in 0..MAX_REF_HOPS {
        match current.get("$ref").and_then(Value::as_str) {
            None => return Some(current),
            Some(reference) => current = pointer(root, reference)?,
        }
    }
    None
}

fn pointer<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    root.pointer(&percent_decode(fragment))
}

/// `$ref`s are URIs, so a pointer may arrive percent-encoded (`#/components/schemas/a%20b`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
