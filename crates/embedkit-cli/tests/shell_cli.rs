//! `embedkit completions SHELL` and `embedkit man`, generated from the argument definitions:
//! every shell's script names the commands and options, bash's completes them when sourced
//! into bash, and the manual pages are roff that groff renders without a warning.

mod common;

use common::{embedkit, ok};
use std::process::Command;

#[test]
fn completion_scripts_name_the_commands_and_options() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok(&embedkit(&["completions", shell]));
        for word in [
            "serve",
            "embed",
            "words",
            "completions",
            "served-model-name",
            "max-batch-tokens",
        ] {
            assert!(script.contains(word), "{shell}: no {word:?}");
        }
    }
    let out = embedkit(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

/// What bash completes after `words` (the last word is the one being completed).
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = ok(&embedkit(&["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("embedkit.bash");
    std::fs::write(&file, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' && COMP_WORDS=({}) && COMP_CWORD={} && _embedkit embedkit '{}' '{}' && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_and_options() {
    let mut got = bash_completes(&["embedkit", "se"]);
    got.sort();
    assert_eq!(got, ["search", "serve"]);
    assert_eq!(
        bash_completes(&["embedkit", "serve", "--served"]),
        ["--served-model-name"]
    );
    assert_eq!(bash_completes(&["embedkit", "completions", "fi"]), ["fish"]);
}

/// groff's warnings (all of them) for a page; None when groff is not installed.
fn groff_warnings(page: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn man_pages_cover_every_command() {
    let page = ok(&embedkit(&["man"]));
    assert!(page.contains(".TH embedkit 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for command in [
        "embedkit\\-serve(1)",
        "embedkit\\-completions(1)",
        "embedkit\\-man(1)",
    ] {
        assert!(page.contains(command), "no {command} in\n{page}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    ok(&embedkit(&["man", "--dir", out.to_str().unwrap()]));
    let serve = std::fs::read_to_string(out.join("embedkit-serve.1")).unwrap();
    for text in [
        "\\-\\-served\\-model\\-name",
        "EMBEDKIT_SERVED_MODEL_NAME",
        "EMBEDKIT_PORT",
    ] {
        assert!(serve.contains(text), "no {text} in embedkit-serve.1");
    }
    assert!(out.join("embedkit-words-train.1").is_file());
    let pages: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(pages.len() > 20, "{} pages", pages.len());

    match groff_warnings(&page) {
        Some(w) => {
            assert_eq!(w, "", "embedkit.1");
            assert_eq!(groff_warnings(&serve).unwrap(), "", "embedkit-serve.1");
        }
        None => eprintln!("groff is not installed: the pages are not rendered"),
    }
}
