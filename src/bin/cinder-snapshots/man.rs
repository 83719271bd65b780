//! The manual page, `cinder-snapshots(1)`, in roff: the help texts of [`crate::spec`] (the
//! global `--help` and every command's `COMMAND --help`, made from the one table), each line
//! kept, laid out for man(1). Not a command of the table: `cinder-snapshots completions man`
//! prints it (hidden, for `scripts/package-deb`), next to the shells' completion scripts made
//! from the same table.
//!
//! Layout: the global help is DESCRIPTION, each command's help a subsection of COMMANDS. In
//! a help text, a line that starts with spaces (option lists, examples, tables) is kept as
//! it is (`.nf`), a line at the left margin is running text (filled), a blank line starts a
//! paragraph, and a line at the left margin ending in `:` after a blank line is a heading.

use crate::spec::{self, SPECS};

/// The whole page.
pub fn page() -> String {
    let mut page = format!(
        ".TH CINDER-SNAPSHOTS 1 \"\" \"cinder-snapshots {version}\" \"User Commands\"\n\
         .nh\n\
         .ad l\n\
         .SH NAME\n\
         cinder-snapshots \\- OpenStack Block Storage (Cinder v3) volume snapshots from the shell\n\
         .SH SYNOPSIS\n\
         .B cinder-snapshots\n\
         [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n\
         .br\n\
         .B cinder-snapshots\n\
         \\fICOMMAND\\fR \\fB\\-\\-help\\fR\n\
         .SH DESCRIPTION\n",
        version = env!("CARGO_PKG_VERSION")
    );
    page.push_str(&roff(&spec::help()));
    page.push_str(".SH COMMANDS\n");
    for s in SPECS {
        page.push_str(&format!(".SS {}\n", escape(s.name)));
        page.push_str(&roff(&s.help()));
    }
    page.push_str(
        ".SH SEE ALSO\n\
         openstack(1), crontab(5), systemd.timer(5), systemd.exec(5)\n",
    );
    page
}

/// A help text as roff: see the module's docs.
fn roff(text: &str) -> String {
    let mut out = String::new();
    // Inside `.nf` (lines kept as they are); after a blank line (or at the start).
    let (mut kept, mut fresh) = (false, true);
    for line in text.lines() {
        if line.trim().is_empty() {
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            if !fresh {
                out.push_str(".PP\n");
            }
            fresh = true;
            continue;
        }
        if line.starts_with(' ') {
            if !kept {
                out.push_str(".nf\n");
                kept = true;
            }
            out.push_str(&format!("\\&{}\n", escape(line)));
        } else {
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            if fresh && line.ends_with(':') {
                out.push_str(&format!("\\fB{}\\fR\n.br\n", escape(line)));
            } else {
                out.push_str(&format!("\\&{}\n", escape(line)));
            }
        }
        fresh = false;
    }
    if kept {
        out.push_str(".fi\n");
    }
    out
}

/// Text for roff: a backslash as `\e`, a hyphen-minus as `\-` (so that options are typed
/// as they read), anything beyond ASCII as its code point (the page is ASCII).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => out.push_str(&format!("\\[u{:04X}]", u32::from(c))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of every help text is in the page (escaped as the page has it), so the
    /// page cannot say less than `--help`.
    #[test]
    fn the_page_holds_every_line_of_every_help_text() {
        let page = page();
        let lines: Vec<&str> = page.lines().collect();
        for text in std::iter::once(spec::help()).chain(SPECS.iter().map(|s| s.help())) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let want = escape(line);
                assert!(lines.iter().any(|l| l.contains(&want) && l.len() <= want.len() + 6), "missing: {line}");
            }
        }
        for s in SPECS {
            assert!(page.contains(&format!("\n.SS {}\n", escape(s.name))), "{}", s.name);
        }
        assert!(page.starts_with(".TH CINDER-SNAPSHOTS 1 "));
        // Balanced no-fill blocks, nothing a roff request could mistake for one, ASCII only.
        assert_eq!(page.matches("\n.nf\n").count(), page.matches("\n.fi\n").count());
        assert!(page.is_ascii());
        for l in &lines {
            assert!(!l.starts_with('\'') && !l.starts_with(' '), "{l}");
        }
    }

    #[test]
    fn roff_layout_and_escapes() {
        assert_eq!(
            roff("Options:\n  --wait  a \\ b\n\nText -f x,\n.dot\n"),
            "\\fBOptions:\\fR\n.br\n.nf\n\\&  \\-\\-wait  a \\e b\n.fi\n.PP\n\\&Text \\-f x,\n\\&.dot\n"
        );
        assert_eq!(escape("été"), "\\[u00E9]t\\[u00E9]");
    }
}
