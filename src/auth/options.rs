use serde_json::{Value, json};

use super::Secret;
use crate::error::{Error, Result};

/// A domain, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Domain {
    /// The domain's id, e.g. `default`.
    Id(String),
    /// The domain's name, e.g. `Default`.
    Name(String),
}

impl Domain {
    /// A domain by id.
    pub fn id(id: impl Into<String>) -> Self {
        Domain::Id(id.into())
    }

    /// A domain by name.
    pub fn name(name: impl Into<String>) -> Self {
        Domain::Name(name.into())
    }

    fn to_json(&self) -> Value {
        match self {
            Domain::Id(id) => json!({ "id": id }),
            Domain::Name(name) => json!({ "name": name }),
        }
    }
}

/// A Keystone user, by id or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum User {
    /// The user's id.
    Id(String),
    /// The user's name; names are unique only within a domain.
    Name {
        /// User name.
        name: String,
        /// The user's domain.
        domain: Domain,
    },
}

impl User {
    /// A user by id.
    pub fn id(id: impl Into<String>) -> Self {
        User::Id(id.into())
    }

    /// A user by name within a domain.
    pub fn name(name: impl Into<String>, domain: Domain) -> Self {
        User::Name { name: name.into(), domain }
    }

    fn to_json(&self) -> Value {
        match self {
            User::Id(id) => json!({ "id": id }),
            User::Name { name, domain } => json!({ "name": name, "domain": domain.to_json() }),
        }
    }
}

/// What the token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scope {
    /// No scope in the request: Keystone scopes the token to the user's default project,
    /// if it has one. Application credentials must use this.
    #[default]
    Default,
    /// A project by id.
    ProjectId(String),
    /// A project by name within a domain.
    ProjectName {
        /// Project name.
        name: String,
        /// The project's domain.
        domain: Domain,
    },
    /// A domain. Domain-scoped tokens see no project endpoints in the catalog, so this needs
    /// an endpoint override to reach Cinder.
    Domain(Domain),
}

impl Scope {
    /// A project by id.
    pub fn project_id(id: impl Into<String>) -> Self {
        Scope::ProjectId(id.into())
    }

    /// A project by name within a domain.
    pub fn project_name(name: impl Into<String>, domain: Domain) -> Self {
        Scope::ProjectName { name: name.into(), domain }
    }

    fn to_json(&self) -> Option<Value> {
        match self {
            Scope::Default => None,
            Scope::ProjectId(id) => Some(json!({ "project": { "id": id } })),
            Scope::ProjectName { name, domain } => Some(json!({ "project": { "name": name, "domain": domain.to_json() } })),
            Scope::Domain(domain) => Some(json!({ "domain": domain.to_json() })),
        }
    }
}

/// How to prove who you are to Keystone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A user and a password.
    Password {
        /// The user.
        user: User,
        /// The password.
        password: Secret,
    },
    /// An existing token. Without a scope the token is used as it is (Keystone only
    /// validates it and hands out the catalog); with a scope a new token is requested.
    Token {
        /// The token.
        token: Secret,
    },
    /// An application credential by id.
    ApplicationCredentialId {
        /// The credential's id.
        id: String,
        /// The credential's secret.
        secret: Secret,
    },
    /// An application credential by name; a name needs its owner.
    ApplicationCredentialName {
        /// The credential's name.
        name: String,
        /// The user who owns it.
        user: User,
        /// The credential's secret.
        secret: Secret,
    },
}

/// Where and how to authenticate with Keystone v3.
///
/// `Debug` never shows the password, token or secret.
///
/// ```
/// use cinder_snapshots::{AuthOptions, Domain, Scope};
/// let auth = AuthOptions::password("http://127.0.0.1:5000/v3", "admin", Domain::name("Default"), "s3cret")
///     .with_scope(Scope::project_name("admin", Domain::name("Default")));
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct AuthOptions {
    pub(crate) auth_url: String,
    pub(crate) method: AuthMethod,
    pub(crate) scope: Scope,
}

impl AuthOptions {
    /// Keystone's URL, with or without a trailing `/v3`.
    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// The credentials.
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// The token's scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Password authentication for a user by name within a domain.
    pub fn password(auth_url: impl Into<String>, username: impl Into<String>, user_domain: Domain, password: impl Into<Secret>) -> Self {
        Self::new(auth_url, AuthMethod::Password { user: User::name(username, user_domain), password: password.into() })
    }

    /// Password authentication for a user by id.
    pub fn password_user_id(auth_url: impl Into<String>, user_id: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::new(auth_url, AuthMethod::Password { user: User::id(user_id), password: password.into() })
    }

    /// Authentication with an existing token.
    pub fn token(auth_url: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self::new(auth_url, AuthMethod::Token { token: token.into() })
    }

    /// Authentication with an application credential by id.
    pub fn application_credential(auth_url: impl Into<String>, id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self::new(auth_url, AuthMethod::ApplicationCredentialId { id: id.into(), secret: secret.into() })
    }

    /// Authentication with an application credential by name and owner.
    pub fn application_credential_name(
        auth_url: impl Into<String>,
        name: impl Into<String>,
        user: User,
        secret: impl Into<Secret>,
    ) -> Self {
        Self::new(auth_url, AuthMethod::ApplicationCredentialName { name: name.into(), user, secret: secret.into() })
    }

    /// Any method.
    pub fn new(auth_url: impl Into<String>, method: AuthMethod) -> Self {
        AuthOptions { auth_url: auth_url.into(), method, scope: Scope::Default }
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// `true` when these credentials can get a fresh token after the current one expires
    /// or is revoked (passwords and application credentials can; a bare token cannot).
    pub fn can_reauthenticate(&self) -> bool {
        !matches!(self.method, AuthMethod::Token { .. })
    }

    /// Checks what Keystone would refuse anyway, before any request.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.auth_url.trim().is_empty() {
            return Err(Error::Config("the auth URL is empty".into()));
        }
        let app_cred = matches!(self.method, AuthMethod::ApplicationCredentialId { .. } | AuthMethod::ApplicationCredentialName { .. });
        if app_cred && self.scope != Scope::Default {
            return Err(Error::Config(
                "application credentials cannot request a scope: the token is scoped to the credential's project".into(),
            ));
        }
        Ok(())
    }

    /// `true` when the token is used as it is (validated, not exchanged).
    pub(crate) fn is_token_passthrough(&self) -> bool {
        matches!(self.method, AuthMethod::Token { .. }) && self.scope == Scope::Default
    }

    /// The body of `POST /v3/auth/tokens`. It holds the secret: never log it.
    pub(crate) fn request_body(&self) -> Value {
        let identity = match &self.method {
            AuthMethod::Password { user, password } => {
                let mut user = user.to_json();
                user["password"] = Value::String(password.expose_secret().to_owned());
                json!({ "methods": ["password"], "password": { "user": user } })
            }
            AuthMethod::Token { token } => {
                json!({ "methods": ["token"], "token": { "id": token.expose_secret() } })
            }
            AuthMethod::ApplicationCredentialId { id, secret } => json!({
                "methods": ["application_credential"],
                "application_credential": { "id": id, "secret": secret.expose_secret() }
            }),
            AuthMethod::ApplicationCredentialName { name, user, secret } => json!({
                "methods": ["application_credential"],
                "application_credential": { "name": name, "user": user.to_json(), "secret": secret.expose_secret() }
            }),
        };
        let mut auth = json!({ "identity": identity });
        if let Some(scope) = self.scope.to_json() {
            auth["scope"] = scope;
        }
        json!({ "auth": auth })
    }

    /// `<auth_url>/auth/tokens` when the URL already ends in `/v3`, else
    /// `<auth_url>/v3/auth/tokens`.
    pub(crate) fn tokens_url(&self) -> Result<url::Url> {
        let base = self.auth_url.trim().trim_end_matches('/');
        let full = if base.ends_with("/v3") { format!("{base}/auth/tokens") } else { format!("{base}/v3/auth/tokens") };
        url::Url::parse(&full).map_err(|e| Error::Config(format!("the auth URL {:?} is not a valid URL: {e}", self.auth_url)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_url_with_and_without_v3() {
        for (given, want) in [
            ("http://k:5000/v3", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000/v3/", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000", "http://k:5000/v3/auth/tokens"),
            ("https://k/identity/", "https://k/identity/v3/auth/tokens"),
        ] {
            let o = AuthOptions::token(given, "t");
            assert_eq!(o.tokens_url().unwrap().as_str(), want);
        }
        assert!(matches!(AuthOptions::token("not a url", "t").tokens_url(), Err(Error::Config(_))));
    }

    #[test]
    fn application_credentials_refuse_a_scope() {
        let o = AuthOptions::application_credential("http://k/v3", "id", "s").with_scope(Scope::project_id("p"));
        assert!(matches!(o.validate(), Err(Error::Config(m)) if m.contains("cannot request a scope")));
    }
}
