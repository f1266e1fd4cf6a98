//! Ctrl-C (or SIGTERM) during a long run: this process's temporary files are removed before
//! it exits.
//!
//! A signal ends a process without running destructors, so an interrupted `words train`
//! used to leave its segmented copy of the corpus (`--tokenizer jieba`) and GloVe's spilled
//! co-occurrence chunks (gigabytes for a large corpus) in the temporary folder. Every
//! temporary file or folder embedkit makes is named `embedkit-<what>-<pid>-…`, so the
//! handler can find this process's own without a registry.

use std::path::Path;

/// Exit status of a process ended by SIGINT, as shells report it (128 + 2).
const INTERRUPTED: i32 = 130;

/// From now on, Ctrl-C or SIGTERM removes this process's temporary files and exits with
/// status 130. Only for commands that make such files: the server handles its signals itself.
pub fn remove_temporaries_on_interrupt() {
    let installed = ctrlc::set_handler(|| {
        let removed = remove_own_temporaries(&std::env::temp_dir(), std::process::id());
        if removed > 0 {
            eprintln!("interrupted: removed {removed} temporary file(s)");
        }
        std::process::exit(INTERRUPTED);
    });
    if let Err(e) = installed {
        tracing::warn!("temporary files will stay behind if interrupted: {e}");
    }
}

/// Removes the entries of `dir` that process `pid` made (`embedkit-<what>-<pid>-…`);
/// returns how many went. Failures are skipped: the process is about to exit.
fn remove_own_temporaries(dir: &Path, pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let tag = format!("-{pid}-");
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("embedkit-") && name.contains(&tag)
        })
        .filter(|entry| {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path).is_ok(),
                _ => std::fs::remove_file(&path).is_ok(),
            }
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_process_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "embedkit-segmented-4242-a1b2.txt",
            "embedkit-segmented-42420-c3.txt",
            "embedkit-segmented-424-d4.txt",
            "other-4242-file.txt",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let spill = dir.path().join("embedkit-glove-4242-0");
        std::fs::create_dir(&spill).unwrap();
        std::fs::write(spill.join("cooccur-0.bin"), "y").unwrap();
        assert_eq!(remove_own_temporaries(dir.path(), 4242), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut kept = names[1..].to_vec();
        kept.sort();
        assert_eq!(left, kept);
    }
}
