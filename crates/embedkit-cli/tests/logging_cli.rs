//! Log lines on stderr: `RUST_LOG` sets the filter, `EMBEDKIT_LOG` too and wins over it, a
//! malformed filter is reported; colour codes only on a terminal (run under script(1)'s
//! pseudo-terminal) and never with `NO_COLOR`. The line used is the warning a model folder
//! without modules.json gives.

mod common;

use common::fixture;
use std::path::Path;
use std::process::{Command, Output};

const NOTE: &str = "no modules.json: a plain transformers folder";

/// tiny-bge without modules.json: loading it logs a warning.
fn plain_folder(dir: &Path) -> String {
    let to = dir.join("plain");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(fixture("tiny-bge")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "modules.json" {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    to.to_str().unwrap().to_string()
}

/// `embedkit embed -m MODEL hi` with only `vars` of the log variables set.
fn embed(model: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
    cmd.args(["embed", "-m", model, "hi"]);
    for v in ["RUST_LOG", "EMBEDKIT_LOG", "NO_COLOR"] {
        cmd.env_remove(v);
    }
    let out = cmd.envs(vars.iter().copied()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn rust_log_and_embedkit_log_set_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let model = plain_folder(dir.path());
    let warns = |vars: &[(&str, &str)]| stderr(&embed(&model, vars)).contains(NOTE);

    assert!(warns(&[]), "warnings are shown by default");
    assert!(!warns(&[("RUST_LOG", "error")]));
    assert!(!warns(&[("RUST_LOG", "embedkit_models=off")]));
    assert!(!warns(&[("EMBEDKIT_LOG", "off")]));
    // EMBEDKIT_LOG wins over RUST_LOG, either way round; an empty one does not count.
    assert!(warns(&[("RUST_LOG", "off"), ("EMBEDKIT_LOG", "warn")]));
    assert!(!warns(&[("RUST_LOG", "warn"), ("EMBEDKIT_LOG", "off")]));
    assert!(!warns(&[("RUST_LOG", "off"), ("EMBEDKIT_LOG", "")]));

    // A filter that does not parse is reported and the default used.
    let text = stderr(&embed(&model, &[("RUST_LOG", "embedkit_models=loud")]));
    assert!(
        text.contains("warning: ignoring RUST_LOG=\"embedkit_models=loud\""),
        "{text}"
    );
    assert!(text.contains(NOTE), "{text}");
}

#[test]
fn no_colour_codes_off_a_terminal_or_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let model = plain_folder(dir.path());

    // stderr is a pipe here.
    let text = stderr(&embed(&model, &[]));
    assert!(text.contains(NOTE), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a pipe: {text:?}");

    // On a terminal: script(1) runs the command on a pseudo-terminal and copies what it
    // printed. Colours there, unless NO_COLOR is set (to anything but "").
    let bin = env!("CARGO_BIN_EXE_embedkit");
    let on_terminal = |no_color: Option<&str>| -> Option<String> {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("'{bin}' embed -m '{model}' hi >/dev/null"),
            "/dev/null",
        ]);
        for v in ["RUST_LOG", "EMBEDKIT_LOG", "NO_COLOR"] {
            cmd.env_remove(v);
        }
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().ok()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Some(coloured) = on_terminal(None) else {
        eprintln!("script(1) (util-linux) is not installed: the terminal case is not tested");
        return;
    };
    assert!(coloured.contains(NOTE), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colours on a terminal: {coloured:?}"
    );
    let plain = on_terminal(Some("1")).unwrap();
    assert!(plain.contains(NOTE), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour codes with NO_COLOR=1: {plain:?}"
    );
    let empty = on_terminal(Some("")).unwrap();
    assert!(
        empty.contains("\u{1b}["),
        "an empty NO_COLOR counts as unset: {empty:?}"
    );
}
