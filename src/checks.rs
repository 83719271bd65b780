//! The input checks every resource shares, made before anything is sent: path segments,
//! names and descriptions, metadata keys and values, and the microversion a parameter
//! needs. Each refusal is an [`Error::InvalidInput`] that names the value and the rule.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The longest name, description, metadata key or value Cinder accepts, in characters.
pub(crate) const MAX_TEXT: usize = 255;

/// Checks that a value can be one path segment once encoded: servers decode `%2F` and
/// resolve `.` and `..` before routing.
pub(crate) fn segment(what: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    if s == "." || s == ".." {
        return Err(Error::InvalidInput(format!("{what} {s:?} cannot be a path segment")));
    }
    if s.contains(['/', '\\']) {
        return Err(Error::InvalidInput(format!("{what} {s:?} contains a slash and cannot be one path segment")));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!("{what} {s:?} contains a control character")));
    }
    Ok(())
}

/// A resource id in a path: `"snapshot id"`, `"volume id"`.
pub(crate) fn id(kind: &str, id: &str) -> Result<()> {
    segment(&format!("{kind} id"), id)
}

/// A name (or any text field) of at most [`MAX_TEXT`] characters.
pub(crate) fn name(field: &str, value: &str) -> Result<()> {
    let n = value.chars().count();
    if n > MAX_TEXT {
        return Err(Error::InvalidInput(format!("{field} has {n} characters; at most {MAX_TEXT} are allowed")));
    }
    Ok(())
}

/// Characters Cinder's "printable" pattern refuses: control and format characters, line
/// and paragraph separators, private use.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E000}'..='\u{F8FF}')
}

/// A description: at most [`MAX_TEXT`] printable characters.
pub(crate) fn description(value: &str) -> Result<()> {
    name("description", value)?;
    if let Some(c) = value.chars().find(|c| unprintable(*c)) {
        return Err(Error::InvalidInput(format!("description contains the unprintable character {c:?}")));
    }
    Ok(())
}

/// Cinder's key rule: `^[a-zA-Z0-9-_:. ]{1,255}$`, plus `/` where the call allows it
/// (snapshot create).
pub(crate) fn metadata_key(key: &str, allow_slash: bool) -> Result<()> {
    let n = key.chars().count();
    if n == 0 || n > MAX_TEXT {
        return Err(Error::InvalidInput(format!("metadata key {key:?} must have 1 to {MAX_TEXT} characters")));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' ') || (allow_slash && c == '/');
    if let Some(c) = key.chars().find(|c| !ok(*c)) {
        let allowed = if allow_slash { "ASCII letters, digits and -_:. /" } else { "ASCII letters, digits and -_:. " };
        return Err(Error::InvalidInput(format!("metadata key {key:?} contains {c:?}; only {allowed} are allowed")));
    }
    Ok(())
}

/// Every key and value of a metadata map.
pub(crate) fn metadata(metadata: &BTreeMap<String, String>, allow_slash: bool) -> Result<()> {
    for (k, v) in metadata {
        metadata_key(k, allow_slash)?;
        let n = v.chars().count();
        if n > MAX_TEXT {
            return Err(Error::InvalidInput(format!("the value of metadata key {k:?} has {n} characters; at most {MAX_TEXT} are allowed")));
        }
    }
    Ok(())
}

/// A metadata key used as a path segment.
pub(crate) fn metadata_key_segment(key: &str) -> Result<()> {
    metadata_key(key, false)?;
    segment("metadata key", key)
}

/// `true` for a string shaped like a Cinder id: the crate's one rule,
/// [`canonical_id`](crate::resource::canonical_id).
pub(crate) fn is_uuid(s: &str) -> bool {
    crate::resource::canonical_id(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_that_cannot_be_one() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(matches!(segment("id", bad), Err(Error::InvalidInput(_))), "{bad:?}");
        }
        segment("id", "a b%2E").unwrap();
    }

    #[test]
    fn uuid_shapes() {
        assert!(is_uuid("b36476e5-d18b-47f9-ac69-4818cb43ee21"));
        assert!(is_uuid("B36476E5D18B47F9AC694818CB43EE21"));
        for bad in [
            "",
            "nightly",
            "db-data",
            "b36476e5-d18b-47f9-ac69-4818cb43ee2",
            "b36476e5-d18b-47f9-ac69-4818cb43ee21-",
            "g36476e5-d18b-47f9-ac69-4818cb43ee21",
            "5aa119a8-d25b-45a7-8d1b88e127885635",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
