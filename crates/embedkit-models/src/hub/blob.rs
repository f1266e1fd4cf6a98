//! One file from the hub into `blobs/`: streamed into a `.part` file that survives an
//! interrupted download (the next try, in this process or a later one, asks for the rest with
//! `Range: bytes=N-`), then hashed and renamed to `blobs/<sha256>` in one step, so a blob is
//! always whole.

use super::client::{Client, Failure};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Downloads `url` into `blobs` through the partial file `part`; returns the blob's path.
pub(super) fn download(
    client: &Client,
    url: &str,
    part: &Path,
    blobs: &Path,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<PathBuf> {
    client.retrying(|| attempt(client, url, part, progress))?;
    let blob = blobs.join(sha256_of(part)?);
    std::fs::rename(part, &blob).map_err(|e| Error::io(&blob, e))?;
    Ok(blob)
}

/// One try: asks for what `part` lacks and appends it.
fn attempt(
    client: &Client,
    url: &str,
    part: &Path,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), Failure> {
    let have = std::fs::metadata(part).map_or(0, |m| m.len());
    let response = match client.get(url, have) {
        Err(Failure::Restart(why)) => {
            // The part does not fit the file (or already is all of it): start over.
            std::fs::remove_file(part).map_err(|e| Failure::Fatal(Error::io(part, e)))?;
            return Err(Failure::Transient(why));
        }
        other => other?,
    };
    let length: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    // 206 continues the part; 200 is the whole file (a server that ignores Range).
    let resumed =
        have > 0 && response.status() == 206 && content_range_start(&response) == Some(have);
    let start = if resumed { have } else { 0 };
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
    if let Some(bar) = progress {
        bar.set_length(start + length.unwrap_or(0));
        bar.set_position(start);
    }
    let mut reader = response.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                return Err(Failure::Transient(format!(
                    "{url}: connection lost after {} bytes: {e}",
                    start + received
                )))
            }
        };
        file.write_all(&buf[..n])
            .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
        received += n as u64;
        if let Some(bar) = progress {
            bar.inc(n as u64);
        }
    }
    file.sync_all()
        .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
    match length {
        Some(len) if len != received => Err(Failure::Transient(format!(
            "{url}: download ended after {} of {} bytes",
            start + received,
            start + len
        ))),
        _ => Ok(()),
    }
}

/// `N` of `Content-Range: bytes N-M/T`.
fn content_range_start(response: &ureq::Response) -> Option<u64> {
    let value = response.header("Content-Range")?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
