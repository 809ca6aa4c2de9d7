//! Authentication, one module per `auth.method`. Each adds its part to a [`Prepared`] request
//! (headers, a query parameter) from the profile's secrets; none sends anything itself except the
//! OAuth2 token request.

pub(crate) mod api_key;
pub(crate) mod basic;
pub(crate) mod hawk;
pub(crate) mod oauth2;
pub(crate) mod sigv4;

use riposte_core::formats::profile::{Profile, secret_env_var};

use super::error::SendError;
#[cfg(doc)]
use super::request::Prepared;
use crate::secrets::{Redactor, SecretSource, SecretString};

/// A profile's secrets for one request, by field name.
pub(crate) struct Credentials {
    fields: Vec<(&'static str, SecretString)>,
}

impl Credentials {
    /// The value of a field (required fields are always present).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.expose())
    }

    pub fn require(&self, field: &str) -> &str {
        self.get(field).unwrap_or_default()
    }

    /// The values that are credentials by themselves (not identifiers such as a username or an
    /// access key id): what must never come back to the playbook in an answer.
    pub fn credential_values(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|(name, _)| !IDENTIFIERS.contains(name))
            .map(|(_, value)| value.expose())
    }
}

/// Secret fields that identify rather than authenticate.
const IDENTIFIERS: &[&str] = &["client_id", "username", "access_key_id", "hawk_id"];

/// Reads every secret field the profile's method needs; a missing required one is an error (the
/// request is never sent unauthenticated). Every value read is registered with the redactor.
pub(crate) fn fetch(
    profile: &Profile,
    source: &dyn SecretSource,
    redactor: &Redactor,
) -> Result<Credentials, SendError> {
    let mut fields = Vec::new();
    for field in profile.auth.secret_fields() {
        match source
            .secret(&profile.name, field.name)
            .filter(|value| !value.is_empty())
        {
            Some(value) => {
                redactor.add_secret(value.expose());
                fields.push((field.name, value));
            }
            None if field.required => {
                return Err(SendError::MissingSecret {
                    profile: profile.name.clone(),
                    field: field.name.to_string(),
                    env_var: secret_env_var(&profile.name, field.name),
                    where_to_set: source.where_to_set(&profile.name, field.name),
                });
            }
            None => {}
        }
    }
    Ok(Credentials { fields })
}
