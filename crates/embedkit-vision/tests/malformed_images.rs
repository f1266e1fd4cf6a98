//! Acceptance 5: malformed images give clear errors, never a panic, and a header that
//! announces a huge image is refused before its pixels are allocated.

mod common;

use common::fixtures;
use embedkit_vision::decode;

/// CRC-32 (PNG's chunk checksum), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG whose IHDR says `w × h` RGB, followed by a tiny (wrong-sized) IDAT and IEND.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn error_of(bytes: &[u8]) -> String {
    decode::decode(bytes, "test").unwrap_err().to_string()
}

/// Peak resident memory of this process so far (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn huge_header_is_refused_before_allocating() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926); // the standard check value
    let before = peak_rss();
    let err = error_of(&png_header(20_000, 20_000));
    assert!(
        err.contains("20000x20000") || err.contains("limit"),
        "{err}"
    );
    // Decoding 20000×20000 RGB would take 1.2 GB.
    if let (Some(a), Some(b)) = (before, peak_rss()) {
        assert!(b - a < 64 << 20, "peak memory grew by {} bytes", b - a);
    }
    let err = error_of(&png_header(16_000, 16_000));
    assert!(err.contains("over the limit"), "{err}");
}

#[test]
fn truncated_png_is_an_error() {
    let bytes = std::fs::read(fixtures().join("images/chelsea.png")).unwrap();
    for cut in [8, 40, 1000, bytes.len() / 2, bytes.len() - 20] {
        let err = error_of(&bytes[..cut]);
        assert!(err.starts_with("image test:"), "{err}");
    }
    // A valid header with too little image data.
    assert!(error_of(&png_header(64, 64)).starts_with("image test:"));
}

#[test]
fn empty_and_zero_sized_images_are_errors() {
    assert!(error_of(b"").contains("empty file"));
    let err = error_of(&png_header(0, 10));
    assert!(err.starts_with("image test:"), "{err}");
}

#[test]
fn other_files_are_not_images() {
    let err = error_of(b"just some text, not an image\n");
    assert!(err.contains("not an image in a supported format"), "{err}");
    let err = error_of(&[0u8; 100]);
    assert!(err.contains("not an image"), "{err}");
    let err = decode::open(&fixtures().join("images/missing.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.png"), "{err}");
}
