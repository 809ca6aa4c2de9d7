//! What a workspace offers a playbook's author, as plain serialisable data for tools that answer a
//! model: the integration profiles (never a secret, only the names of the secret fields a method
//! needs), one profile's catalog endpoints, and the normalised alert's schema. The MCP server and
//! the agent's tools both answer from here, so they cannot describe the workspace differently.
//!
//! The alert schema is read from the SDK stub (`sdk/riposte.pyi`) and the alert model, the same
//! sources the checks and completions use.

use serde::Serialize;

use crate::alert::{AlertShape, EntityKind};
use crate::catalog::{ApiCatalog, Endpoint, HttpMethod, ParamLocation};
use crate::formats::profile::secret_env_var;
use crate::ide::request_path;
use crate::sdk::{self, MemberKind, SdkMember};
use crate::workspace::{ProfileEntry, Workspace};

/// One integration profile, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationSummary {
    /// What a playbook passes to `ctx.integration(name)`.
    pub name: String,
    pub description: String,
    /// Request paths are relative to this URL.
    pub base_url: String,
    /// `auth.method`: `oauth2_client_credentials`, `api_key`, `aws_sigv4`, `basic`, `bearer`,
    /// `hawk`.
    pub auth_method: &'static str,
    /// The API catalog the profile names (`api`), when it has one.
    pub catalog: Option<String>,
    /// Whether that catalog was found (a built-in name, or a custom document that could be read).
    pub catalog_available: bool,
    /// The secret fields the method needs, by name only: the host holds the values.
    pub secret_fields: Vec<SecretFieldName>,
    /// Where the profile was read from, relative to the workspace root.
    pub path: String,
}

/// The name of one secret field a profile's method needs; never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFieldName {
    pub name: &'static str,
    pub required: bool,
    /// The environment variable that gives it to headless runs (`RIPOSTE_<PROFILE>_<FIELD>`).
    pub env_var: String,
}

/// One profile with its catalog's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationDescription {
    #[serde(flatten)]
    pub summary: IntegrationSummary,
    /// The catalog document's title, when there is a catalog.
    pub catalog_title: Option<String>,
    /// Empty when the profile has no catalog: any path is then accepted unchecked.
    pub endpoints: Vec<EndpointDescription>,
}

/// One operation of a profile's API, as a playbook calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointDescription {
    pub method: HttpMethod,
    /// The path to pass to the client, relative to the profile's `base_url`, with `{param}`
    /// holes for path parameters (write them as an f-string).
    pub path: String,
    /// The AWS Query `Action` this endpoint stands for (send it as `params={"Action": ...}`).
    pub action: Option<String>,
    pub summary: String,
    /// Every parameter a call must give: path parameters first, then query, then body.
    pub required: Vec<RequiredParam>,
    /// Optional query parameters (`params=`), by name.
    pub optional_query: Vec<String>,
    /// Optional body fields (`json=` / `data=`), by name.
    pub optional_body: Vec<String>,
    /// Whether a call changes something: planned, not sent, in a dry run.
    pub mutating: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredParam {
    pub name: String,
    /// `path`, `query` (`params=`) or `body` (`json=` / `data=`).
    #[serde(rename = "in")]
    pub location: ParamLocation,
}

/// The normalised alert a playbook's `run(alert, ctx)` receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertSchema {
    /// What the `Alert` class is, from the stub.
    pub description: String,
    /// The input shapes an alert is normalised from.
    pub sources: Vec<AlertSource>,
    /// `Alert` attributes.
    pub fields: Vec<SchemaField>,
    /// `Alert` methods that return evidence (`entities(kind)`, `users()`, `ips()`, …).
    pub evidence_methods: Vec<SchemaMethod>,
    /// What `alert.entities(kind)` accepts and `Entity.kind` holds.
    pub entity_kinds: Vec<&'static str>,
    /// `Entity` attributes.
    pub entity_fields: Vec<SchemaField>,
    /// `Entity` methods (`get`).
    pub entity_methods: Vec<SchemaMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertSource {
    /// `graph` or `security_alert`: the alert's `source` value in the run.
    pub name: &'static str,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaField {
    pub name: String,
    /// The Python type as the stub writes it.
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaMethod {
    pub name: String,
    /// `users(self) -> list[Entity]`, as the stub writes it.
    pub signature: String,
    pub description: String,
}

/// Every integration profile of the workspace, sorted by name.
pub fn integrations(workspace: &Workspace) -> Vec<IntegrationSummary> {
    workspace.profiles().map(summary).collect()
}

/// One profile with its endpoints; `None` when the workspace has no profile of that name.
pub fn integration(workspace: &Workspace, name: &str) -> Option<IntegrationDescription> {
    let entry = workspace.profile(name)?;
    let base_path = entry.profile.base_path();
    let catalog = entry.catalog.as_deref();
    Some(IntegrationDescription {
        summary: summary(entry),
        catalog_title: catalog.map(|c| c.title.clone()),
        endpoints: catalog
            .map(|c| {
                c.endpoints
                    .iter()
                    .map(|e| endpoint(e, c, &base_path))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The normalised alert's fields, evidence methods and entity kinds.
pub fn alert_schema() -> AlertSchema {
    let alert = sdk::class("Alert");
    let entity = sdk::class("Entity");
    let members = |class: Option<&'static sdk::SdkClass>, kind: MemberKind| {
        class
            .into_iter()
            .flat_map(|c| c.public_members())
            .filter(move |m| m.kind == kind)
    };
    AlertSchema {
        description: alert.map(|c| c.doc.clone()).unwrap_or_default(),
        sources: [AlertShape::Graph, AlertShape::SecurityAlert]
            .into_iter()
            .map(|shape| AlertSource {
                name: shape.as_str(),
                description: shape.to_string(),
            })
            .collect(),
        fields: members(alert, MemberKind::Attribute).map(field).collect(),
        evidence_methods: members(alert, MemberKind::Method).map(method).collect(),
        entity_kinds: EntityKind::ALL.map(EntityKind::as_str).to_vec(),
        entity_fields: members(entity, MemberKind::Attribute).map(field).collect(),
        entity_methods: members(entity, MemberKind::Method).map(method).collect(),
    }
}

fn summary(entry: &ProfileEntry) -> IntegrationSummary {
    let profile = &entry.profile;
    IntegrationSummary {
        name: profile.name.clone(),
        description: profile.description.clone(),
        base_url: profile.base_url.clone(),
        auth_method: profile.auth.method(),
        catalog: profile.api.clone(),
        catalog_available: entry.catalog.is_some(),
        secret_fields: profile
            .auth
            .secret_fields()
            .iter()
            .map(|field| SecretFieldName {
                name: field.name,
                required: field.required,
                env_var: secret_env_var(&profile.name, field.name),
            })
            .collect(),
        path: entry.path.clone(),
    }
}

fn endpoint(endpoint: &Endpoint, catalog: &ApiCatalog, base_path: &str) -> EndpointDescription {
    let optional = |params: &[crate::catalog::Param]| {
        params
            .iter()
            .filter(|p| !p.required)
            .map(|p| p.name.clone())
            .collect()
    };
    EndpointDescription {
        method: endpoint.method,
        path: request_path(endpoint, catalog, base_path),
        action: endpoint.action.clone(),
        summary: endpoint.summary.clone(),
        required: endpoint
            .required_params()
            .into_iter()
            .map(|(location, name)| RequiredParam {
                name: name.to_owned(),
                location,
            })
            .collect(),
        optional_query: optional(&endpoint.query),
        optional_body: optional(&endpoint.body),
        mutating: endpoint.mutating,
    }
}

/// `severity: Literal[...]` → name `severity`, type `Literal[...]`.
fn field(member: &SdkMember) -> SchemaField {
    let ty = member
        .signature
        .split_once(':')
        .map(|(_, ty)| ty.trim().to_owned())
        .unwrap_or_default();
    SchemaField {
        name: member.name.clone(),
        ty,
        description: member.doc.clone(),
    }
}

fn method(member: &SdkMember) -> SchemaMethod {
    SchemaMethod {
        name: member.name.clone(),
        signature: member.signature.clone(),
        description: member.doc.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;
    use crate::formats::config::Config;
    use crate::formats::profile::Profile;

    fn profile(text: &str) -> Profile {
        toml::from_str(text).expect("test profile parses")
    }

    fn workspace() -> Workspace {
        let mut workspace = Workspace::new(Config::default());
        workspace.add_profile(
            "integrations/virustotal.toml",
            profile(
                r#"
                name = "VirusTotal"
                description = "VirusTotal v3"
                base_url = "https://www.virustotal.com/api/v3"
                api = "virustotal"
                [auth]
                method = "api_key"
                header = "x-apikey"
                "#,
            ),
            None,
        );
        workspace.add_profile(
            "integrations/graph.toml",
            profile(
                r#"
                name = "Microsoft Graph"
                base_url = "https://graph.microsoft.com"
                api = "graph"
                [auth]
                method = "oauth2_client_credentials"
                token_url = "https://login.microsoftonline.com/t/oauth2/v2.0/token"
                "#,
            ),
            None,
        );
        workspace.add_profile(
            "integrations/plain.toml",
            profile(
                r#"
                name = "Plain"
                base_url = "https://plain.example.com"
                api = "no-such-catalog"
                [auth]
                method = "aws_sigv4"
                region = "us-east-1"
                service = "iam"
                "#,
            ),
            None,
        );
        workspace
    }

    #[test]
    fn summaries_name_secret_fields_and_their_variables_but_hold_no_values() {
        let summaries = integrations(&workspace());
        let names: Vec<_> = summaries.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Microsoft Graph", "Plain", "VirusTotal"]);
        let vt = &summaries[2];
        assert_eq!(vt.auth_method, "api_key");
        assert_eq!(vt.catalog.as_deref(), Some("virustotal"));
        assert!(vt.catalog_available);
        assert_eq!(vt.path, "integrations/virustotal.toml");
        assert_eq!(
            vt.secret_fields,
            [SecretFieldName {
                name: "api_key",
                required: true,
                env_var: "RIPOSTE_VIRUSTOTAL_API_KEY".into(),
            }]
        );
        let aws = &summaries[1];
        assert!(!aws.catalog_available);
        let fields: Vec<_> = aws
            .secret_fields
            .iter()
            .map(|f| (f.name, f.required))
            .collect();
        assert_eq!(
            fields,
            [
                ("access_key_id", true),
                ("secret_access_key", true),
                ("session_token", false)
            ]
        );
    }

    #[test]
    fn virustotal_endpoints_are_paths_relative_to_the_base_url() {
        let vt = integration(&workspace(), "VirusTotal").expect("profile exists");
        assert_eq!(vt.catalog_title.as_deref().map(str::is_empty), Some(false));
        let url = vt
            .endpoints
            .iter()
            .find(|e| e.method == HttpMethod::Get && e.path == "/urls/{id}")
            .expect("GET /urls/{id} is in the VirusTotal catalog");
        assert!(!url.mutating);
        assert_eq!(
            url.required,
            [RequiredParam {
                name: "id".into(),
                location: ParamLocation::Path
            }]
        );
        assert!(
            vt.endpoints
                .iter()
                .any(|e| e.method == HttpMethod::Post && e.mutating),
            "VirusTotal has mutating POST endpoints"
        );
        let json = serde_json::to_value(&vt).expect("serialises");
        assert_eq!(json["name"], "VirusTotal");
        assert!(json["endpoints"][0]["required"].is_array());
    }

    #[test]
    fn graph_paths_carry_the_catalog_server_path_when_the_base_url_has_none() {
        let graph = integration(&workspace(), "Microsoft Graph").expect("profile exists");
        assert!(!graph.endpoints.is_empty());
        assert!(
            graph.endpoints.iter().all(|e| e.path.starts_with("/v1.0/")),
            "{:?}",
            graph.endpoints.first()
        );
    }

    #[test]
    fn a_profile_without_a_catalog_has_no_endpoints_and_an_unknown_name_is_none() {
        let plain = integration(&workspace(), "Plain").expect("profile exists");
        assert!(plain.endpoints.is_empty());
        assert_eq!(plain.catalog_title, None);
        assert_eq!(integration(&workspace(), "Nope"), None);
    }

    #[test]
    fn the_alert_schema_matches_the_alert_model() {
        let schema = alert_schema();
        assert!(!schema.description.is_empty());
        let alert = Alert::from_json(include_str!(
            "../../../fixtures/alerts/graph-phishing-url.json"
        ))
        .expect("fixture alert parses");
        let serialised = serde_json::to_value(&alert).expect("serialises");
        for field in &schema.fields {
            assert!(
                serialised.get(&field.name).is_some(),
                "stub field `{}` is not in the alert model",
                field.name
            );
            assert!(!field.ty.is_empty() && !field.description.is_empty());
        }
        let severity = schema.fields.iter().find(|f| f.name == "severity").unwrap();
        assert!(severity.ty.starts_with("Literal["), "{}", severity.ty);
        let methods: Vec<_> = schema
            .evidence_methods
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        for expected in ["entities", "users", "ips", "urls", "files", "devices"] {
            assert!(methods.contains(&expected), "{methods:?}");
        }
        assert_eq!(schema.entity_kinds.len(), EntityKind::ALL.len());
        assert!(schema.entity_kinds.contains(&"registry_key"));
        assert!(schema.entity_fields.iter().any(|f| f.name == "verdict"));
        assert!(schema.entity_methods.iter().any(|m| m.name == "get"));
        let sources: Vec<_> = schema.sources.iter().map(|s| s.name).collect();
        assert_eq!(sources, ["graph", "security_alert"]);
    }
}
