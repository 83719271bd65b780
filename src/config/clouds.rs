//! clouds.yaml and secure.yaml: finding them as openstacksdk does, merging them, and turning
//! one cloud into [`Settings`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::settings::{Origin, Settings};
use crate::error::{Error, Result};

/// The places clouds.yaml and secure.yaml are looked for, first found wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchPath {
    /// `OS_CLIENT_CONFIG_FILE`: tried before the directories.
    pub config_file: Option<PathBuf>,
    /// `OS_CLIENT_SECURE_FILE`: tried before the directories.
    pub secure_file: Option<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// openstacksdk's directories: the current directory, the user config directory,
    /// `~/.config/openstack`, the site config directory, `/etc/openstack`; `var` reads the
    /// environment.
    pub(crate) fn standard(var: impl Fn(&str) -> Option<String>) -> Self {
        let path = |name: &str| var(name).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        let home = path("HOME").or_else(|| path("USERPROFILE"));
        let mut dirs = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            dirs.push(cwd);
        }
        if cfg!(windows) {
            if let Some(local) = path("LOCALAPPDATA") {
                dirs.push(local.join("OpenStack").join("openstack"));
            }
        } else if cfg!(target_os = "macos") {
            if let Some(home) = &home {
                dirs.push(home.join("Library").join("Application Support").join("openstack"));
            }
        } else if let Some(config) = path("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
            dirs.push(config.join("openstack"));
        }
        if let Some(home) = path("SNAP_REAL_HOME").or(home) {
            dirs.push(home.join(".config").join("openstack"));
        }
        if cfg!(target_os = "macos") {
            dirs.push(PathBuf::from("/Library/Application Support/openstack"));
        } else if cfg!(unix) {
            let site = var("XDG_CONFIG_DIRS")
                .and_then(|d| d.split(':').find(|p| !p.is_empty()).map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("/etc/xdg"));
            dirs.push(site.join("openstack"));
        }
        if cfg!(unix) {
            dirs.push(PathBuf::from("/etc/openstack"));
        }
        dirs.dedup();
        SearchPath { config_file: path("OS_CLIENT_CONFIG_FILE"), secure_file: path("OS_CLIENT_SECURE_FILE"), dirs }
    }

    /// The first of `<dir>/<stem>.yaml|.yml|.json`, after `first` (which must exist if given).
    fn find(&self, first: Option<&Path>, stem: &str, variable: &str) -> Result<Option<PathBuf>> {
        if let Some(file) = first {
            if file.is_file() {
                return Ok(Some(file.to_owned()));
            }
            return Err(Error::Config(format!("{variable}={} does not name a readable file", file.display())));
        }
        Ok(self.dirs.iter().flat_map(|d| ["yaml", "yml", "json"].map(|ext| d.join(format!("{stem}.{ext}")))).find(|p| p.is_file()))
    }

    fn searched(&self) -> String {
        self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    }

    /// The settings of cloud `name`: clouds.yaml with secure.yaml merged over it.
    pub(crate) fn load(&self, name: &str) -> Result<Settings> {
        let Some(file) = self.find(self.config_file.as_deref(), "clouds", "OS_CLIENT_CONFIG_FILE")? else {
            return Err(Error::Config(format!(
                "cloud {name:?} was asked for, but no clouds.yaml, clouds.yml or clouds.json was found in {} (set OS_CLIENT_CONFIG_FILE to name one)",
                self.searched()
            )));
        };
        let mut doc = read(&file)?;
        if let Some(secure) = self.find(self.secure_file.as_deref(), "secure", "OS_CLIENT_SECURE_FILE")? {
            merge(&mut doc, read(&secure)?);
        }
        cloud_settings(&doc, name, &file)
    }
}

/// Reads a YAML or JSON file into a JSON value; errors name the file.
fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed: std::result::Result<Value, String> =
        if json { serde_json::from_str(&text).map_err(|e| e.to_string()) } else { parse_yaml(&text) };
    let value =
        parsed.map_err(|e| Error::Config(format!("{} is not valid {}: {e}", path.display(), if json { "JSON" } else { "YAML" })))?;
    match value {
        Value::Object(_) => Ok(value),
        // An empty file.
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(Error::Config(format!("{} does not hold a mapping (expected a top-level `clouds:` key)", path.display()))),
    }
}

#[cfg(feature = "clouds-yaml")]
fn parse_yaml(text: &str) -> std::result::Result<Value, String> {
    yaml_serde::from_str(text).map_err(|e| e.to_string())
}

#[cfg(not(feature = "clouds-yaml"))]
fn parse_yaml(_: &str) -> std::result::Result<Value, String> {
    Err("this build of cinder-snapshots has no YAML support (feature `clouds-yaml`); use clouds.json".to_owned())
}

/// Lays `over` on `base`: mappings merge key by key, anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// A scalar setting as text; `None` for null.
fn scalar(value: &Value, origin: &Origin, key: &str) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(Error::Config(format!("{} must be a single value, not a list or mapping", origin.name(key)))),
    }
}

/// The keys read from a cloud's top level (besides `auth` and the block-storage ones).
const TOP_KEYS: &[&str] = &["auth_type", "region_name", "interface", "endpoint_type", "verify", "cacert", "insecure", "api_timeout"];
/// Block-storage keys, after one of the service prefixes.
const SERVICE_KEYS: &[&str] = &["endpoint_override", "api_version", "default_microversion", "interface", "endpoint_type", "region_name"];

fn cloud_settings(doc: &Value, name: &str, file: &Path) -> Result<Settings> {
    let origin = Origin::Cloud { file: file.to_owned(), cloud: name.to_owned() };
    let clouds = match doc.get("clouds") {
        Some(Value::Object(clouds)) => clouds,
        Some(_) => return Err(Error::Config(format!("clouds in {} must be a mapping of cloud names", file.display()))),
        None => return Err(Error::Config(format!("{} has no `clouds:` section", file.display()))),
    };
    let cloud = match clouds.get(name) {
        Some(Value::Object(cloud)) => cloud,
        Some(_) => return Err(Error::Config(format!("clouds.{name} in {} must be a mapping", file.display()))),
        None => {
            let known: Vec<&str> = clouds.keys().map(String::as_str).collect();
            return Err(Error::Config(format!("{} has no cloud named {name:?} (it has: {})", file.display(), known.join(", "))));
        }
    };
    let mut settings = Settings::new(origin.clone());
    match cloud.get("auth") {
        Some(Value::Object(auth)) => {
            for (key, value) in auth {
                if let Some(text) = scalar(value, &origin, key)? {
                    settings.set(key, text, &origin);
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => return Err(Error::Config(format!("clouds.{name}.auth in {} must be a mapping", file.display()))),
    }
    for (key, value) in cloud {
        let service_key = is_service_key(key);
        if TOP_KEYS.contains(&key.as_str()) || service_key {
            if let Some(text) = scalar(value, &origin, key)? {
                settings.set(key, text, &origin);
            }
        }
    }
    // `regions:` (names or {name: ...} mappings) gives the region when region_name does not.
    if cloud.get("region_name").is_none_or(Value::is_null) {
        if let Some(Value::Array(regions)) = cloud.get("regions") {
            let first = regions.first().and_then(|r| r.as_str().or_else(|| r.get("name").and_then(Value::as_str)));
            if let Some(region) = first {
                settings.set("region_name", region, &origin);
            }
        }
    }
    Ok(settings)
}

/// `true` for a block-storage key such as `volume_api_version`.
fn is_service_key(key: &str) -> bool {
    super::settings::SERVICE_PREFIXES.iter().any(|p| key.strip_prefix(p).is_some_and(|rest| SERVICE_KEYS.contains(&rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_deep() {
        let mut base = serde_json::json!({"clouds": {"a": {"auth": {"username": "u", "auth_url": "x"}, "region_name": "R"}}});
        merge(&mut base, serde_json::json!({"clouds": {"a": {"auth": {"password": "p"}, "region_name": "S"}, "b": {}}}));
        assert_eq!(
            base,
            serde_json::json!({"clouds": {"a": {"auth": {"username": "u", "auth_url": "x", "password": "p"}, "region_name": "S"}, "b": {}}})
        );
    }

    #[test]
    fn service_keys() {
        assert!(is_service_key("block_storage_endpoint_override"));
        assert!(is_service_key("volume_api_version"));
        assert!(is_service_key("volumev3_interface"));
        assert!(!is_service_key("compute_api_version"));
        assert!(!is_service_key("volume_size"));
    }

    #[test]
    fn first_file_found_wins() {
        let root = std::env::temp_dir().join(format!("cinder-snapshots-find-{}", std::process::id()));
        let (a, b) = (root.join("a"), root.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let search = SearchPath { dirs: vec![a.clone(), b.clone()], ..SearchPath::default() };
        let find = || search.find(None, "clouds", "OS_CLIENT_CONFIG_FILE").unwrap();
        assert_eq!(find(), None);
        std::fs::write(b.join("clouds.yaml"), "").unwrap();
        assert_eq!(find(), Some(b.join("clouds.yaml")));
        std::fs::write(a.join("clouds.json"), "{}").unwrap();
        assert_eq!(find(), Some(a.join("clouds.json")), "an earlier directory wins");
        std::fs::write(a.join("clouds.yml"), "").unwrap();
        assert_eq!(find(), Some(a.join("clouds.yml")), ".yml before .json");
        std::fs::write(a.join("clouds.yaml"), "").unwrap();
        assert_eq!(find(), Some(a.join("clouds.yaml")), ".yaml first");
        let named = b.join("clouds.yaml");
        assert_eq!(search.find(Some(&named), "clouds", "X").unwrap(), Some(named.clone()), "the named file comes first");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn standard_search_order() {
        let vars = |name: &str| match name {
            "HOME" => Some("/home/u".to_owned()),
            "XDG_CONFIG_HOME" => Some("/home/u/cfg".to_owned()),
            "OS_CLIENT_CONFIG_FILE" => Some("/tmp/c.yaml".to_owned()),
            _ => None,
        };
        let s = SearchPath::standard(vars);
        assert_eq!(s.config_file.as_deref(), Some(Path::new("/tmp/c.yaml")));
        assert_eq!(s.secure_file, None);
        if cfg!(target_os = "linux") {
            let cwd = std::env::current_dir().unwrap();
            let want: Vec<PathBuf> = vec![
                cwd,
                "/home/u/cfg/openstack".into(),
                "/home/u/.config/openstack".into(),
                "/etc/xdg/openstack".into(),
                "/etc/openstack".into(),
            ];
            assert_eq!(s.dirs, want);
        }
    }
}
