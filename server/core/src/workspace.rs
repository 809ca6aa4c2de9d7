//! A workspace as the checker sees it: its settings, its integration profiles (with their API
//! catalogs) and the names of its playbooks. The caller reads the files; this only holds results.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::catalog::ApiCatalog;
use crate::formats::config::Config;
use crate::formats::profile::Profile;

#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub config: Config,
    profiles: BTreeMap<String, ProfileEntry>,
    playbooks: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct ProfileEntry {
    /// Where the profile was read from, relative to the workspace root (`integrations/x.toml`).
    pub path: String,
    pub profile: Profile,
    pub catalog: Option<Catalog>,
    /// `profile.base_path()`, worked out once: every request call in a playbook needs it.
    base_path: String,
}

impl ProfileEntry {
    /// The path part of the profile's `base_url`, without a trailing slash (see
    /// [`Profile::base_path`]).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }
}

/// A profile's API catalog: one of the built-ins, or the user's own OpenAPI document.
#[derive(Debug, Clone)]
pub enum Catalog {
    Builtin(&'static ApiCatalog),
    Custom(Arc<ApiCatalog>),
}

impl std::ops::Deref for Catalog {
    type Target = ApiCatalog;
    fn deref(&self) -> &ApiCatalog {
        match self {
            Catalog::Builtin(catalog) => catalog,
            Catalog::Custom(catalog) => catalog,
        }
    }
}

impl Workspace {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Adds a profile; `catalog` is the custom catalog when `api` names a file the caller has read.
    /// A built-in `api` name is resolved here.
    pub fn add_profile(
        &mut self,
        path: impl Into<String>,
        profile: Profile,
        custom_catalog: Option<ApiCatalog>,
    ) {
        let catalog = match custom_catalog {
            Some(catalog) => Some(Catalog::Custom(Arc::new(catalog))),
            None => profile
                .api
                .as_deref()
                .and_then(ApiCatalog::builtin)
                .map(Catalog::Builtin),
        };
        self.profiles.insert(
            profile.name.clone(),
            ProfileEntry {
                path: path.into(),
                base_path: profile.base_path(),
                profile,
                catalog,
            },
        );
    }

    pub fn add_playbook(&mut self, name: impl Into<String>) {
        self.playbooks.insert(name.into());
    }

    pub fn profile(&self, name: &str) -> Option<&ProfileEntry> {
        self.profiles.get(name)
    }

    pub fn profiles(&self) -> impl Iterator<Item = &ProfileEntry> {
        self.profiles.values()
    }

    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    pub fn has_playbook(&self, name: &str) -> bool {
        self.playbooks.contains(name)
    }

    pub fn playbooks(&self) -> impl Iterator<Item = &str> {
        self.playbooks.iter().map(String::as_str)
    }
}
