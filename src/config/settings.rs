//! One flat set of settings, in openstacksdk's key names, from either source: `OS_*`
//! variables (`OS_PROJECT_NAME` is `project_name`) or a cloud of clouds.yaml (its `auth:`
//! keys and its top-level keys), or a cloud with the variables laid over it. Every value
//! remembers where it came from, so an error names the variable, or the file and the key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::{AuthMethod, AuthOptions, Domain, Interface, Scope, User};
use crate::client::{Microversion, MicroversionPolicy, ServiceClient, ServiceClientBuilder};
use crate::error::{Error, Result};

/// The keys that live under `auth:` in clouds.yaml.
const AUTH_KEYS: &[&str] = &[
    "auth_url",
    "username",
    "user_name",
    "user_id",
    "password",
    "user_domain_name",
    "user_domain_id",
    "project_name",
    "project_id",
    "tenant_name",
    "tenant_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "token",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
];

/// The prefixes of the block-storage service's own keys, in openstacksdk's order.
/// The range of `api_timeout` / `OS_API_TIMEOUT`, in seconds: a millisecond to a day.
const MIN_API_TIMEOUT: f64 = 0.001;
const MAX_API_TIMEOUT: f64 = 86_400.0;

pub(crate) const SERVICE_PREFIXES: &[&str] = &["block_storage_", "volumev3_", "volume_", "block_store_"];

/// Where settings came from: names a key in messages.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    Env,
    Cloud { file: PathBuf, cloud: String },
}

impl Origin {
    /// `OS_PROJECT_NAME`, or `clouds.demo.auth.project_name in /etc/openstack/clouds.yaml`.
    pub(crate) fn name(&self, key: &str) -> String {
        match self {
            Origin::Env => format!("OS_{}", key.to_ascii_uppercase()),
            Origin::Cloud { file, cloud } => {
                let section = if AUTH_KEYS.contains(&key) { "auth." } else { "" };
                format!("clouds.{cloud}.{section}{key} in {}", file.display())
            }
        }
    }
}

struct Value {
    text: String,
    name: String,
}

pub(crate) struct Settings {
    values: HashMap<String, Value>,
    /// Where a key that is missing should have been.
    origin: Origin,
}

impl Settings {
    pub(crate) fn new(origin: Origin) -> Self {
        Settings { values: HashMap::new(), origin }
    }

    /// Sets `key` (in openstacksdk's name) from `origin`; blank values count as unset.
    pub(crate) fn set(&mut self, key: &str, text: impl Into<String>, origin: &Origin) {
        let text = text.into();
        if !text.trim().is_empty() {
            self.values.insert(key.to_owned(), Value { text, name: origin.name(key) });
        }
    }

    /// `OS_*` variables as settings: `OS_FOO_BAR` is `foo_bar`.
    pub(crate) fn from_env(vars: &HashMap<String, String>) -> Self {
        let mut s = Settings::new(Origin::Env);
        for (k, v) in vars {
            if let Some(key) = k.strip_prefix("OS_") {
                s.set(&key.to_ascii_lowercase(), v.as_str(), &Origin::Env);
            }
        }
        s
    }

    /// These settings with `over`'s laid on top, key by key.
    pub(crate) fn overlay(mut self, over: Settings) -> Self {
        self.values.extend(over.values);
        self
    }

    fn name(&self, key: &str) -> String {
        self.values.get(key).map_or_else(|| self.origin.name(key), |v| v.name.clone())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|v| v.text.trim())
    }

    /// A secret, untrimmed.
    fn secret(&self, key: &str) -> Option<String> {
        self.values.get(key).map(|v| v.text.clone())
    }

    fn missing(&self, key: &str, why: &str) -> Error {
        Error::Config(format!("{} is not set: {why}", self.name(key)))
    }

    fn invalid(&self, key: &str, why: &str) -> Error {
        Error::Config(format!("{}={:?} {why}", self.name(key), self.get(key).unwrap_or_default()))
    }

    /// A key with an old alias; both set to different values is a contradiction.
    fn either<'k>(&'k self, key: &'k str, alias: &'k str) -> Result<Option<(&'k str, &'k str)>> {
        match (self.get(key), self.get(alias)) {
            (Some(a), Some(b)) if a != b => {
                Err(Error::Config(format!("{} ({a:?}) and {} ({b:?}) contradict each other", self.name(key), self.name(alias))))
            }
            (Some(a), _) => Ok(Some((key, a))),
            (None, Some(b)) => Ok(Some((alias, b))),
            (None, None) => Ok(None),
        }
    }

    /// The block-storage service's own `<prefix>suffix` key, first prefix first.
    fn service(&self, suffix: &str) -> Option<(String, &str)> {
        SERVICE_PREFIXES.iter().map(|p| format!("{p}{suffix}")).find_map(|k| self.get(&k).map(|v| (k.clone(), v)))
    }

    fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
                "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
                _ => Err(self.invalid(key, "is not a boolean (true/false, 1/0, yes/no)")),
            })
            .transpose()
    }

    fn interface(&self, key: &str, value: &str) -> Result<Interface> {
        value.parse::<Interface>().map_err(|_| self.invalid(key, "is not public, internal or admin"))
    }

    /// The builder these settings describe.
    pub(crate) fn builder(&self) -> Result<ServiceClientBuilder> {
        let auth = self.auth_options()?;
        let mut builder = ServiceClient::builder(auth);
        if let Some(region) = self.service("region_name").map(|(_, v)| v).or(self.get("region_name")) {
            builder = builder.region(region);
        }
        if let Some((key, value)) = self.service("interface").or(self.service("endpoint_type")) {
            builder = builder.interface(self.interface(&key, value)?);
        } else if let Some((key, value)) = self.either("interface", "endpoint_type")? {
            builder = builder.interface(self.interface(key, value)?);
        }
        if let Some((_, url)) = self.service("endpoint_override") {
            builder = builder.endpoint_override(url);
        }
        if let Some(path) = self.get("cacert") {
            builder = builder.ca_bundle(path);
        }
        // `insecure` wins over `verify`, as in openstacksdk.
        if let Some(verify) = self.bool("verify")? {
            builder = builder.insecure(!verify);
        }
        if let Some(insecure) = self.bool("insecure")? {
            builder = builder.insecure(insecure);
        }
        if let Some(secs) = self.get("api_timeout") {
            let secs: f64 = secs
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0)
                .ok_or_else(|| self.invalid("api_timeout", "is not a number of seconds above zero"))?;
            // Below a millisecond is a timeout of zero in effect; above a day is no timeout
            // in effect and, near Duration's limit, cannot be added to a clock reading.
            let timeout = Some(secs)
                .filter(|s| (MIN_API_TIMEOUT..=MAX_API_TIMEOUT).contains(s))
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| {
                    self.invalid("api_timeout", &format!("is out of range: from {MIN_API_TIMEOUT} to {MAX_API_TIMEOUT} seconds"))
                })?;
            builder = builder.timeout(timeout);
        }
        if let Some((key, version)) = self.service("api_version") {
            builder = builder.microversion(match version {
                "3" => MicroversionPolicy::Negotiate,
                v if v.starts_with("3.") => MicroversionPolicy::Pinned(self.microversion(&key, v)?),
                _ => return Err(self.invalid(&key, "is not a v3 version: only the v3 API (3 or 3.N) exists")),
            });
        }
        if let Some((key, version)) = self.service("default_microversion") {
            builder = builder.microversion(MicroversionPolicy::Pinned(self.microversion(&key, version)?));
        }
        Ok(builder)
    }

    fn microversion(&self, key: &str, value: &str) -> Result<Microversion> {
        value.parse::<Microversion>().map_err(|_| self.invalid(key, "is not a microversion such as 3.71"))
    }

    fn auth_options(&self) -> Result<AuthOptions> {
        let auth_url = self.get("auth_url").ok_or_else(|| self.missing("auth_url", "Keystone's URL is needed"))?;
        let method = match self.auth_type()? {
            AuthType::Password => {
                let password = self.secret("password").ok_or_else(|| self.missing("password", "password authentication needs it"))?;
                AuthMethod::Password { user: self.user("password authentication")?, password: password.into() }
            }
            AuthType::Token => AuthMethod::Token {
                token: self.secret("token").ok_or_else(|| self.missing("token", "token authentication needs it"))?.into(),
            },
            AuthType::ApplicationCredential => {
                let secret = self
                    .secret("application_credential_secret")
                    .ok_or_else(|| self.missing("application_credential_secret", "application credentials need it"))?
                    .into();
                match (self.get("application_credential_id"), self.get("application_credential_name")) {
                    (Some(id), _) => AuthMethod::ApplicationCredentialId { id: id.to_owned(), secret },
                    (None, Some(name)) => AuthMethod::ApplicationCredentialName {
                        name: name.to_owned(),
                        user: self
                            .user(&format!("an application credential given by name ({})", self.name("application_credential_name")))?,
                        secret,
                    },
                    (None, None) => {
                        let why = format!("application credentials need it or {}", self.name("application_credential_name"));
                        return Err(self.missing("application_credential_id", &why));
                    }
                }
            }
        };
        let scope = match method {
            // The credential's project is the scope; project settings are ignored as openstacksdk does.
            AuthMethod::ApplicationCredentialId { .. } | AuthMethod::ApplicationCredentialName { .. } => Scope::Default,
            _ => self.scope()?,
        };
        Ok(AuthOptions { auth_url: auth_url.to_owned(), method, scope })
    }

    fn auth_type(&self) -> Result<AuthType> {
        if let Some((key, t)) = self.either("auth_type", "auth_plugin")? {
            return match t.to_ascii_lowercase().as_str() {
                "password" | "v3password" => Ok(AuthType::Password),
                "token" | "v3token" => Ok(AuthType::Token),
                "v3applicationcredential" | "applicationcredential" | "application_credential" => Ok(AuthType::ApplicationCredential),
                _ => Err(self.invalid(key, "is not supported: use password, v3password, token, v3token or v3applicationcredential")),
            };
        }
        let password = self.get("password").is_some();
        let token = self.get("token").is_some();
        let app_cred = self.get("application_credential_secret").is_some();
        let choose = format!("set {} to choose", self.name("auth_type"));
        match (password, token, app_cred) {
            (_, _, true) if password || token => Err(Error::Config(format!(
                "{} is set together with {} or {}: {choose}",
                self.name("application_credential_secret"),
                self.name("password"),
                self.name("token")
            ))),
            (true, true, _) => Err(Error::Config(format!("{} and {} are both set: {choose}", self.name("password"), self.name("token")))),
            (_, _, true) => Ok(AuthType::ApplicationCredential),
            (_, true, _) => Ok(AuthType::Token),
            _ => Ok(AuthType::Password),
        }
    }

    /// A domain from `<id_key>` / `<name_key>`, else from `domain_id` / `domain_name`.
    fn domain(&self, id_key: &str, name_key: &str) -> Option<Domain> {
        match (self.get(id_key), self.get(name_key)) {
            (Some(id), _) => Some(Domain::id(id)),
            (None, Some(name)) => Some(Domain::name(name)),
            (None, None) => match (self.get("domain_id"), self.get("domain_name")) {
                (Some(id), _) => Some(Domain::id(id)),
                (None, Some(name)) => Some(Domain::name(name)),
                (None, None) => None,
            },
        }
    }

    fn user(&self, why: &str) -> Result<User> {
        if let Some(id) = self.get("user_id") {
            return Ok(User::id(id));
        }
        let (key, name) = self
            .either("username", "user_name")?
            .ok_or_else(|| self.missing("username", &format!("{why} needs {} or {}", self.name("username"), self.name("user_id"))))?;
        let domain = self.domain("user_domain_id", "user_domain_name").ok_or_else(|| {
            let why = format!("a user given by name ({}) needs its domain (or {})", self.name(key), self.name("user_domain_id"));
            self.missing("user_domain_name", &why)
        })?;
        Ok(User::name(name, domain))
    }

    fn scope(&self) -> Result<Scope> {
        if let Some((_, id)) = self.either("project_id", "tenant_id")? {
            return Ok(Scope::project_id(id));
        }
        if let Some((key, name)) = self.either("project_name", "tenant_name")? {
            let domain = self.domain("project_domain_id", "project_domain_name").ok_or_else(|| {
                let why = format!("a project given by name ({}) needs its domain (or {})", self.name(key), self.name("project_domain_id"));
                self.missing("project_domain_name", &why)
            })?;
            return Ok(Scope::project_name(name, domain));
        }
        Ok(match (self.get("domain_id"), self.get("domain_name")) {
            (Some(id), _) => Scope::Domain(Domain::id(id)),
            (None, Some(name)) => Scope::Domain(Domain::name(name)),
            (None, None) => Scope::Default,
        })
    }
}

enum AuthType {
    Password,
    Token,
    ApplicationCredential,
}
