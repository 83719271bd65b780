use std::collections::HashMap;

use super::clouds::SearchPath;
use super::settings::Settings;
use crate::client::{ServiceClient, ServiceClientBuilder};
use crate::error::{Error, Result};

/// Variables that choose a cloud rather than describe one.
const CLOUD_CHOICE: &[&str] = &["OS_CLOUD", "OS_CLOUD_NAME", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"];

impl ServiceClient {
    /// A client configured from the standard `OS_*` environment variables; see
    /// [`ServiceClientBuilder::from_env`] for the list.
    pub fn from_env() -> Result<ServiceClient> {
        ServiceClientBuilder::from_env()?.build()
    }

    /// A client for cloud `name` of clouds.yaml; see [`ServiceClientBuilder::from_cloud`].
    pub fn from_cloud(name: &str) -> Result<ServiceClient> {
        ServiceClientBuilder::from_cloud(name)?.build()
    }
}

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
    ///
    /// With `OS_CLOUD` set, that cloud of clouds.yaml is read first (see
    /// [`from_cloud`](Self::from_cloud)) and the other `OS_*` variables are laid over it key
    /// by key, as the `openstack` command does: a clouds.yaml without the password and
    /// `OS_PASSWORD` in the environment work together.
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
        let Some(cloud) = vars.get("OS_CLOUD") else {
            return Settings::from_env(&vars).builder();
        };
        let search = SearchPath::standard(|name| vars.get(name).cloned().or_else(|| std::env::var(name).ok()));
        let described: HashMap<String, String> =
            vars.iter().filter(|(k, _)| !CLOUD_CHOICE.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        search.load(cloud)?.overlay(Settings::from_env(&described)).builder()
    }

    /// A builder for cloud `name` of clouds.yaml, found as openstacksdk finds it:
    /// `OS_CLIENT_CONFIG_FILE` first, then `clouds.yaml`, `clouds.yml` or `clouds.json` in the
    /// current directory, the user's config directory (`$XDG_CONFIG_HOME/openstack` on Linux,
    /// `~/Library/Application Support/openstack` on macOS, `%LOCALAPPDATA%\OpenStack\openstack`
    /// on Windows), `~/.config/openstack`, the site config directory (`/etc/xdg/openstack`)
    /// and `/etc/openstack`; the first file found is used. `secure.yaml` (or
    /// `OS_CLIENT_SECURE_FILE`), found the same way, is merged over it key by key.
    ///
    /// Read from the cloud: `auth` (`auth_url`, `username`, `user_id`, `password`,
    /// `user_domain_name` / `_id`, `project_name` / `_id`, `project_domain_name` / `_id`,
    /// `domain_name` / `_id`, `token`, `application_credential_id` / `_name` / `_secret`, and
    /// the old `tenant_*` names), `auth_type` (`password`, `v3password`, `token`, `v3token`,
    /// `v3applicationcredential`), `region_name` (or the first of `regions`), `interface`,
    /// `verify`, `cacert`, `insecure`, `api_timeout`, and the block-storage keys with the
    /// prefixes `block_storage_`, `volumev3_`, `volume_` or `block_store_`: `endpoint_override`,
    /// `api_version` (`3` negotiates, `3.N` pins), `default_microversion`, `interface` and
    /// `region_name`. Other keys are ignored. Errors name the file and the key.
    ///
    /// YAML needs the `clouds-yaml` feature (on by default); `clouds.json` always works.
    /// No `OS_*` variable other than the two file names is read; [`from_env`](Self::from_env)
    /// with `OS_CLOUD` lays them over the cloud.
    ///
    /// ```no_run
    /// use cinder_snapshots::ServiceClientBuilder;
    /// let client = ServiceClientBuilder::from_cloud("mycloud")?.build()?;
    /// # Ok::<(), cinder_snapshots::Error>(())
    /// ```
    pub fn from_cloud(name: &str) -> Result<Self> {
        if name.trim().is_empty() {
            return Err(Error::Config("the cloud name is empty".into()));
        }
        SearchPath::standard(|name| std::env::var(name).ok()).load(name)?.builder()
    }
}
