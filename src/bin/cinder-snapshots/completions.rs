//! `completions bash|zsh|fish`: completion scripts written from the table of commands and
//! options ([`crate::spec`]) that the parser and the help use, so they cannot drift apart.
//!
//! Each script finds the command the way the parser does: the first word that is not an
//! option nor an option's value, and for a group word (`volume`) the word after it. It then
//! offers the command's options and the global ones after `-`, the values of an option that
//! has a known set (formats, statuses, column names, shells; file names for `--os-cacert`),
//! and else the commands.

use crate::spec::{self, Choices, GLOBALS, Opt, SPECS, Spec};

/// The script for `shell`, or `None` when it is not one of [`spec::SHELLS`]; hidden from
/// the help and the completions, `man` gives the manual page ([`crate::man`]).
pub fn script(shell: &str) -> Option<String> {
    match shell {
        "man" => Some(crate::man::page()),
        "bash" => Some(bash()),
        "zsh" => Some(zsh()),
        "fish" => Some(fish()),
        _ => None,
    }
}

/// The first words of the commands, in the table's order, once each.
fn top_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    for s in SPECS {
        let first = s.name.split(' ').next().unwrap_or(s.name);
        if !words.contains(&first) {
            words.push(first);
        }
    }
    words
}

/// Group words (`volume`) and their second words.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for s in SPECS {
        if let Some((first, second)) = s.name.split_once(' ') {
            match groups.iter_mut().find(|(g, _)| *g == first) {
                Some((_, words)) => words.push(second),
                None => groups.push((first, vec![second])),
            }
        }
    }
    groups
}

/// `--name` and `-c` spellings of an option.
fn spellings(o: &Opt) -> Vec<String> {
    let mut v = vec![format!("--{}", o.name)];
    if let Some(c) = o.short {
        v.push(format!("-{c}"));
    }
    v
}

/// Every option that takes a value, in any command (to skip its value when looking for the
/// command), space-separated with a space at both ends.
fn valued_words() -> String {
    let mut words: Vec<String> = Vec::new();
    for o in GLOBALS.iter().chain(SPECS.iter().flat_map(|s| s.options.iter())) {
        if o.value.is_some() {
            for w in spellings(o) {
                if !words.contains(&w) {
                    words.push(w);
                }
            }
        }
    }
    format!(" {} ", words.join(" "))
}

/// The words offered for a value: `None` for file names.
fn choice_words(choices: Choices, spec: Option<&Spec>) -> Option<Vec<String>> {
    match choices {
        Choices::Any => Some(Vec::new()),
        Choices::Words(w) => Some(w.iter().map(|w| (*w).to_owned()).collect()),
        Choices::File => None,
        Choices::Columns => Some(spec.map(|s| s.columns.iter().map(|c| c.word()).collect()).unwrap_or_default()),
    }
}

/// The options a command takes, with the global ones.
fn option_words(s: &Spec) -> String {
    s.options.iter().chain(GLOBALS).flat_map(spellings).collect::<Vec<_>>().join(" ")
}

/// The shared body of the bash and zsh functions: `cur`, `prev` and `first` (the index of
/// the word after the program's name) are set by the caller; this sets `cmd`, then
/// `choices` (the words to offer), or `files=1`.
fn posix_body() -> String {
    let mut out = String::new();
    out.push_str(&format!("    local valued=\"{}\"\n", valued_words()));
    out.push_str("    local cmd=\"\" w skip=0 i files=0 choices=\"\"\n");
    out.push_str("    for (( i = first; i < last; i++ )); do\n");
    out.push_str("        w=\"${line[i]}\"\n");
    out.push_str("        if (( skip )); then skip=0; continue; fi\n");
    out.push_str("        case \"$w\" in\n");
    out.push_str("            --*=*) ;;\n");
    out.push_str("            -*) [[ \"$valued\" == *\" $w \"* ]] && skip=1 ;;\n");
    out.push_str("            *)\n");
    out.push_str("                if [[ -z \"$cmd\" ]]; then\n");
    out.push_str("                    cmd=\"$w\"\n");
    let groups = groups();
    if !groups.is_empty() {
        let names: Vec<&str> = groups.iter().map(|(g, _)| *g).collect();
        out.push_str(&format!("                elif [[ \" {} \" == *\" $cmd \"* ]]; then\n", names.join(" ")));
        out.push_str("                    cmd=\"$cmd $w\"\n");
    }
    out.push_str("                fi ;;\n");
    out.push_str("        esac\n");
    out.push_str("    done\n");
    // The value of an option.
    out.push_str("    if (( skip )); then\n");
    out.push_str("        case \"$cmd|$prev\" in\n");
    let arm = |out: &mut String, patterns: Vec<String>, words: Option<Vec<String>>| match words {
        None => out.push_str(&format!("            {}) files=1 ;;\n", patterns.join("|"))),
        Some(w) if !w.is_empty() => out.push_str(&format!("            {}) choices=\"{}\" ;;\n", patterns.join("|"), w.join(" "))),
        Some(_) => {}
    };
    for s in SPECS {
        for o in s.options.iter().chain(GLOBALS.iter().filter(|g| g.choices == Choices::Columns)) {
            if o.value.is_some() && o.choices != Choices::Any {
                let patterns = spellings(o).iter().map(|w| format!("\"{}|{w}\"", s.name)).collect();
                arm(&mut out, patterns, choice_words(o.choices, Some(s)));
            }
        }
    }
    for g in GLOBALS.iter().filter(|g| g.value.is_some() && g.choices != Choices::Columns) {
        let patterns = spellings(g).iter().map(|w| format!("*\"|{w}\"")).collect();
        arm(&mut out, patterns, choice_words(g.choices, None));
    }
    out.push_str("        esac\n");
    out.push_str("    elif [[ \"$cur\" == -* ]]; then\n");
    out.push_str("        case \"$cmd\" in\n");
    for s in SPECS {
        out.push_str(&format!("            \"{}\") choices=\"{}\" ;;\n", s.name, option_words(s)));
    }
    let globals: Vec<String> = GLOBALS.iter().flat_map(spellings).collect();
    out.push_str(&format!("            *) choices=\"{}\" ;;\n", globals.join(" ")));
    out.push_str("        esac\n");
    out.push_str("    else\n");
    out.push_str("        case \"$cmd\" in\n");
    out.push_str(&format!("            \"\") choices=\"{}\" ;;\n", top_words().join(" ")));
    for (g, words) in &groups {
        out.push_str(&format!("            \"{g}\") choices=\"{}\" ;;\n", words.join(" ")));
    }
    for s in SPECS {
        if let Some(words) = choice_words(s.args, Some(s)).filter(|w| !w.is_empty()) {
            out.push_str(&format!("            \"{}\") choices=\"{}\" ;;\n", s.name, words.join(" ")));
        }
    }
    out.push_str("        esac\n");
    out.push_str("    fi\n");
    out
}

fn bash() -> String {
    let mut out = String::from(
        "# bash completion for cinder-snapshots, written by `cinder-snapshots completions bash`.\n\
         # Install: cinder-snapshots completions bash > ~/.local/share/bash-completion/completions/cinder-snapshots\n\
         # (or: source <(cinder-snapshots completions bash) in ~/.bashrc)\n\
         _cinder_snapshots() {\n\
         \x20   local -a line=(\"${COMP_WORDS[@]}\")\n\
         \x20   local first=1 last=$COMP_CWORD\n\
         \x20   local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\"\n\
         \x20   (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n",
    );
    out.push_str(&posix_body());
    out.push_str(
        "    if (( files )); then\n\
         \x20       mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n\
         \x20   else\n\
         \x20       mapfile -t COMPREPLY < <(compgen -W \"$choices\" -- \"$cur\")\n\
         \x20   fi\n\
         }\n\
         complete -F _cinder_snapshots cinder-snapshots\n",
    );
    out
}

fn zsh() -> String {
    let mut out = String::from(
        "#compdef cinder-snapshots\n\
         # zsh completion for cinder-snapshots, written by `cinder-snapshots completions zsh`.\n\
         # Install: cinder-snapshots completions zsh > ~/.zfunc/_cinder-snapshots, with\n\
         # fpath+=(~/.zfunc) before compinit in ~/.zshrc (or: source <(cinder-snapshots completions zsh)\n\
         # after compinit).\n\
         _cinder_snapshots() {\n\
         \x20   local -a line=(\"${words[@]}\")\n\
         \x20   local first=2 last=$CURRENT\n\
         \x20   local cur=\"${words[CURRENT]}\" prev=\"${words[CURRENT-1]}\"\n",
    );
    out.push_str(&posix_body());
    out.push_str(
        "    if (( files )); then\n\
         \x20       _files\n\
         \x20   else\n\
         \x20       local -a offered\n\
         \x20       offered=(${=choices})\n\
         \x20       compadd -a offered\n\
         \x20   fi\n\
         }\n\
         if [ \"${funcstack[1]}\" = \"_cinder_snapshots\" ]; then\n\
         \x20   _cinder_snapshots \"$@\"\n\
         else\n\
         \x20   compdef _cinder_snapshots cinder-snapshots\n\
         fi\n",
    );
    out
}

/// `text` in fish's single quotes.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One fish `complete` line for an option, under `condition` (none: everywhere).
fn fish_option(o: &Opt, condition: Option<&str>, spec: Option<&Spec>) -> String {
    let mut line = String::from("complete -c cinder-snapshots");
    if let Some(c) = condition {
        line.push_str(&format!(" -n {}", fish_quote(c)));
    }
    if let Some(c) = o.short {
        line.push_str(&format!(" -s {c}"));
    }
    line.push_str(&format!(" -l {}", o.name));
    if o.value.is_some() {
        match choice_words(o.choices, spec) {
            None => line.push_str(" -r -F"),
            Some(w) if w.is_empty() => line.push_str(" -x"),
            Some(w) => line.push_str(&format!(" -x -a {}", fish_quote(&w.join(" ")))),
        }
    }
    line.push_str(&format!(" -d {}", fish_quote(o.help)));
    line + "\n"
}

fn fish() -> String {
    let mut out = String::from(
        "# fish completion for cinder-snapshots, written by `cinder-snapshots completions fish`.\n\
         # Install: cinder-snapshots completions fish > ~/.config/fish/completions/cinder-snapshots.fish\n",
    );
    let valued = valued_words();
    out.push_str("function __cinder_snapshots_cmd\n");
    out.push_str(&format!("    set -l valued {}\n", valued.trim()));
    out.push_str("    set -l cmd ''\n    set -l skip 0\n");
    out.push_str("    for w in (commandline -opc)[2..-1]\n");
    out.push_str("        if test $skip = 1\n            set skip 0\n            continue\n        end\n");
    out.push_str("        switch $w\n");
    out.push_str("            case '--*=*'\n");
    out.push_str("            case '-*'\n                if contains -- $w $valued\n                    set skip 1\n                end\n");
    out.push_str("            case '*'\n                if test -z \"$cmd\"\n                    set cmd $w\n");
    for (g, _) in groups() {
        out.push_str(&format!("                else if test \"$cmd\" = {g}\n                    set cmd \"$cmd $w\"\n"));
    }
    out.push_str("                end\n        end\n    end\n    echo $cmd\nend\n");
    out.push_str("function __cinder_snapshots_is\n    set -l cmd (__cinder_snapshots_cmd)\n    test \"$cmd\" = \"$argv[1]\"\nend\n");
    out.push_str("complete -c cinder-snapshots -f\n");
    let top = "__cinder_snapshots_is ''";
    for word in top_words() {
        let summary = match spec::command(word) {
            Some(s) => s.summary.to_owned(),
            None => format!("{word} commands"),
        };
        out.push_str(&format!("complete -c cinder-snapshots -n {} -a {word} -d {}\n", fish_quote(top), fish_quote(&summary)));
    }
    for (g, words) in groups() {
        for w in words {
            let summary = spec::command(&format!("{g} {w}")).map(|s| s.summary).unwrap_or_default();
            let cond = format!("__cinder_snapshots_is {g}");
            out.push_str(&format!("complete -c cinder-snapshots -n {} -a {w} -d {}\n", fish_quote(&cond), fish_quote(summary)));
        }
    }
    for g in GLOBALS.iter().filter(|g| g.choices != Choices::Columns) {
        out.push_str(&fish_option(g, None, None));
    }
    for s in SPECS {
        let cond = format!("__cinder_snapshots_is {}", fish_quote(s.name));
        if let Some(words) = choice_words(s.args, Some(s)).filter(|w| !w.is_empty()) {
            out.push_str(&format!("complete -c cinder-snapshots -n {} -a {}\n", fish_quote(&cond), fish_quote(&words.join(" "))));
        }
        for o in s.options {
            out.push_str(&fish_option(o, Some(&cond), Some(s)));
        }
        if !s.columns.is_empty() {
            for g in GLOBALS.iter().filter(|g| g.choices == Choices::Columns) {
                out.push_str(&fish_option(g, Some(&cond), Some(s)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_option_is_in_every_script() {
        for shell in spec::SHELLS {
            let text = script(shell).unwrap();
            for s in SPECS {
                for o in s.options.iter().chain(GLOBALS) {
                    assert!(text.contains(&format!("--{}", o.name)) || text.contains(&format!("-l {}", o.name)), "{shell}: --{}", o.name);
                }
                for c in s.columns {
                    assert!(text.contains(&c.word()), "{shell}: {}", c.word());
                }
            }
            for w in top_words() {
                assert!(text.contains(w), "{shell}: {w}");
            }
        }
        assert!(script("tcsh").is_none());
    }
}
