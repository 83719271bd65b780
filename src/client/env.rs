use std::collections::HashMap;

use super::{Microversion, MicroversionPolicy, ServiceClientBuilder};
use crate::auth::{AuthMethod, AuthOptions, Domain, Interface, Scope, User};
use crate::error::{Error, Result};

impl ServiceClientBuilder {
    /// A builder configured from the standard `OS_*` environment variables.
    ///
    /// Read: `OS_AUTH_URL` (with or without `/v3`), `OS_AUTH_TYPE` (`password`,
    /// `v3password`, `token`, `v3token`, `v3applicationcredential`; guessed from the other
    /// variables when unset), `OS_USERNAME` / `OS_USER_ID`, `OS_PASSWORD`,
    /// `OS_USER_DOMAIN_NAME` / `_ID`, `OS_PROJECT_NAME` / `_ID` (and the old `OS_TENANT_*`),
    /// `OS_PROJECT_DOMAIN_NAME` / `_ID`, `OS_DOMAIN_NAME` / `_ID` (a domain scope, or the
    /// default for the user and project domains), `OS_TOKEN`,
    /// `OS_APPLICATION_CREDENTIAL_ID` / `_NAME` / `_SECRET`, `OS_REGION_NAME`,
    /// `OS_INTERFACE` (or `OS_ENDPOINT_TYPE`), `OS_CACERT`, `OS_INSECURE` and
    /// `OS_VOLUME_API_VERSION` (`3` negotiates, `3.N` pins). Empty variables count as unset.
    /// A missing or contradictory variable is an [`Error::Config`] that names it.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// Like [`from_env`](Self::from_env), from the given variables instead of the process
    /// environment (for example the lines of an openrc file).
    ///
    /// ```
    /// use cinder_snapshots::ServiceClientBuilder;
    /// let builder = ServiceClientBuilder::from_vars([
    ///     ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
    ///     ("OS_USERNAME", "demo"),
    ///     ("OS_PASSWORD", "secret"),
    ///     ("OS_USER_DOMAIN_NAME", "Default"),
    ///     ("OS_PROJECT_NAME", "demo"),
    ///     ("OS_PROJECT_DOMAIN_NAME", "Default"),
    /// ])?;
    /// let client = builder.build()?;
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> =
            vars.into_iter().map(|(k, v)| (k.into(), v.into())).filter(|(k, v)| k.starts_with("OS_") && !v.trim().is_empty()).collect();
        Env { vars }.builder()
    }
}

struct Env {
    vars: HashMap<String, String>,
}

fn missing(var: &str, why: &str) -> Error {
    Error::Config(format!("{var} is not set: {why}"))
}

impl Env {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.trim())
    }

    /// A variable with an old alias; both set to different values is a contradiction.
    fn either(&self, name: &str, alias: &str) -> Result<Option<&str>> {
        match (self.get(name), self.get(alias)) {
            (Some(a), Some(b)) if a != b => Err(Error::Config(format!("{name} ({a:?}) and {alias} ({b:?}) contradict each other"))),
            (Some(a), _) => Ok(Some(a)),
            (None, b) => Ok(b),
        }
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn builder(&self) -> Result<ServiceClientBuilder> {
        let auth = self.auth_options()?;
        let mut builder = ServiceClientBuilder::new(Some(auth));
        if let Some(region) = self.get("OS_REGION_NAME") {
            builder.region = Some(region.to_owned());
        }
        if let Some(interface) = self.either("OS_INTERFACE", "OS_ENDPOINT_TYPE")? {
            let var = if self.get("OS_INTERFACE").is_some() { "OS_INTERFACE" } else { "OS_ENDPOINT_TYPE" };
            builder.interface = interface
                .parse::<Interface>()
                .map_err(|_| Error::Config(format!("{var}={interface:?} is not public, internal or admin")))?;
        }
        if let Some(path) = self.get("OS_CACERT") {
            builder.ca_bundle = Some(path.into());
        }
        if let Some(insecure) = self.get("OS_INSECURE") {
            builder.insecure = parse_bool("OS_INSECURE", insecure)?;
        }
        if let Some(version) = self.get("OS_VOLUME_API_VERSION") {
            builder.policy = match version {
                "3" => MicroversionPolicy::Negotiate,
                v if v.starts_with("3.") => MicroversionPolicy::Pinned(
                    v.parse::<Microversion>()
                        .map_err(|_| Error::Config(format!("OS_VOLUME_API_VERSION={v:?} is not a microversion such as 3.71")))?,
                ),
                v => {
                    return Err(Error::Config(format!("OS_VOLUME_API_VERSION={v:?}: only the v3 API (3 or 3.N) exists")));
                }
            };
        }
        Ok(builder)
    }

    fn auth_options(&self) -> Result<AuthOptions> {
        let auth_url = self.get("OS_AUTH_URL").ok_or_else(|| missing("OS_AUTH_URL", "Keystone's URL is needed"))?;
        let method = match self.auth_type()? {
            AuthType::Password => {
                let password = self.secret("OS_PASSWORD").ok_or_else(|| missing("OS_PASSWORD", "password authentication needs it"))?;
                AuthMethod::Password { user: self.user("password authentication")?, password: password.into() }
            }
            AuthType::Token => AuthMethod::Token {
                token: self.secret("OS_TOKEN").ok_or_else(|| missing("OS_TOKEN", "token authentication needs it"))?.into(),
            },
            AuthType::ApplicationCredential => {
                let secret = self
                    .secret("OS_APPLICATION_CREDENTIAL_SECRET")
                    .ok_or_else(|| missing("OS_APPLICATION_CREDENTIAL_SECRET", "application credentials need it"))?
                    .into();
                match (self.get("OS_APPLICATION_CREDENTIAL_ID"), self.get("OS_APPLICATION_CREDENTIAL_NAME")) {
                    (Some(id), _) => AuthMethod::ApplicationCredentialId { id: id.to_owned(), secret },
                    (None, Some(name)) => AuthMethod::ApplicationCredentialName {
                        name: name.to_owned(),
                        user: self.user("an application credential given by name (OS_APPLICATION_CREDENTIAL_NAME)")?,
                        secret,
                    },
                    (None, None) => {
                        return Err(missing(
                            "OS_APPLICATION_CREDENTIAL_ID",
                            "application credentials need it or OS_APPLICATION_CREDENTIAL_NAME",
                        ));
                    }
                }
            }
        };
        let scope = match method {
            // The credential's project is the scope; OS_PROJECT_* are ignored as openstacksdk does.
            AuthMethod::ApplicationCredentialId { .. } | AuthMethod::ApplicationCredentialName { .. } => Scope::Default,
            _ => self.scope()?,
        };
        Ok(AuthOptions { auth_url: auth_url.to_owned(), method, scope })
    }

    fn auth_type(&self) -> Result<AuthType> {
        if let Some(t) = self.get("OS_AUTH_TYPE").or(self.get("OS_AUTH_PLUGIN")) {
            return match t.to_ascii_lowercase().as_str() {
                "password" | "v3password" => Ok(AuthType::Password),
                "token" | "v3token" => Ok(AuthType::Token),
                "v3applicationcredential" | "applicationcredential" | "application_credential" => Ok(AuthType::ApplicationCredential),
                _ => Err(Error::Config(format!(
                    "OS_AUTH_TYPE={t:?} is not supported: use password, v3password, token, v3token or v3applicationcredential"
                ))),
            };
        }
        let password = self.get("OS_PASSWORD").is_some();
        let token = self.get("OS_TOKEN").is_some();
        let app_cred = self.get("OS_APPLICATION_CREDENTIAL_SECRET").is_some();
        match (password, token, app_cred) {
            (_, _, true) if password || token => Err(Error::Config(
                "OS_APPLICATION_CREDENTIAL_SECRET is set together with OS_PASSWORD or OS_TOKEN: set OS_AUTH_TYPE to choose".into(),
            )),
            (true, true, _) => Err(Error::Config("OS_PASSWORD and OS_TOKEN are both set: set OS_AUTH_TYPE to choose".into())),
            (_, _, true) => Ok(AuthType::ApplicationCredential),
            (_, true, _) => Ok(AuthType::Token),
            _ => Ok(AuthType::Password),
        }
    }

    fn domain(&self, id_var: &str, name_var: &str) -> Option<Domain> {
        match (self.get(id_var), self.get(name_var)) {
            (Some(id), _) => Some(Domain::id(id)),
            (None, Some(name)) => Some(Domain::name(name)),
            (None, None) => match (self.get("OS_DOMAIN_ID"), self.get("OS_DOMAIN_NAME")) {
                (Some(id), _) => Some(Domain::id(id)),
                (None, Some(name)) => Some(Domain::name(name)),
                (None, None) => None,
            },
        }
    }

    fn user(&self, why: &str) -> Result<User> {
        if let Some(id) = self.get("OS_USER_ID") {
            return Ok(User::id(id));
        }
        let name = self
            .either("OS_USERNAME", "OS_USER_NAME")?
            .ok_or_else(|| missing("OS_USERNAME", &format!("{why} needs OS_USERNAME or OS_USER_ID")))?;
        let domain = self
            .domain("OS_USER_DOMAIN_ID", "OS_USER_DOMAIN_NAME")
            .ok_or_else(|| missing("OS_USER_DOMAIN_NAME", "a user given by name (OS_USERNAME) needs its domain (or OS_USER_DOMAIN_ID)"))?;
        Ok(User::name(name, domain))
    }

    fn scope(&self) -> Result<Scope> {
        if let Some(id) = self.either("OS_PROJECT_ID", "OS_TENANT_ID")? {
            return Ok(Scope::project_id(id));
        }
        if let Some(name) = self.either("OS_PROJECT_NAME", "OS_TENANT_NAME")? {
            let domain = self.domain("OS_PROJECT_DOMAIN_ID", "OS_PROJECT_DOMAIN_NAME").ok_or_else(|| {
                missing("OS_PROJECT_DOMAIN_NAME", "a project given by name (OS_PROJECT_NAME) needs its domain (or OS_PROJECT_DOMAIN_ID)")
            })?;
            return Ok(Scope::project_name(name, domain));
        }
        Ok(match (self.get("OS_DOMAIN_ID"), self.get("OS_DOMAIN_NAME")) {
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

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
        _ => Err(Error::Config(format!("{var}={value:?} is not a boolean (true/false, 1/0, yes/no)"))),
    }
}
