//! Image headers that claim more pixels than the decoder accepts are refused with an error,
//! in every format it reads, before the pixels are allocated: a valid tiny image of each
//! format (encoded here by the `image` crate) with its size fields rewritten (PNG IHDR,
//! JPEG SOF, GIF screen and frame, BMP, WebP VP8L and VP8X canvas), and decompression bombs
//! (a few hundred bytes of PNG or GIF that would inflate to gigabytes). Nothing is timed:
//! each case must be an error that names a size limit, and the peak memory of the whole run
//! must stay far below what any of them would decode to.

use embedkit_vision::decode::{self, MAX_PIXELS, MAX_SIDE};
use image::{ImageEncoder, Rgb, RgbImage};
use std::io::Cursor;

/// A 4×3 RGB image in `format`.
fn tiny(format: image::ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(4, 3, |x, y| Rgb([x as u8 * 60, y as u8 * 80, 7]));
    let mut out = Cursor::new(Vec::new());
    match format {
        image::ImageFormat::WebP => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(img.as_raw(), 4, 3, image::ExtendedColorType::Rgb8)
            .unwrap(),
        _ => img.write_to(&mut out, format).unwrap(),
    }
    let bytes = out.into_inner();
    let decoded = decode::decode(&bytes, "seed").unwrap();
    assert_eq!((decoded.width, decoded.height), (4, 3), "{format:?} seed");
    bytes
}

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

/// The tiny PNG with its IHDR saying `w × h` (checksum fixed, so only the size is wrong).
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = tiny(image::ImageFormat::Png);
    assert_eq!(&b[12..16], b"IHDR");
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The tiny JPEG with its start-of-frame saying `w × h`.
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut b = tiny(image::ImageFormat::Jpeg);
    let sof = b
        .windows(2)
        .position(|m| m[0] == 0xFF && (0xC0..=0xC2).contains(&m[1]))
        .expect("a start-of-frame marker");
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

/// The tiny GIF with its logical screen `screen` and its frame `frame` (width, height).
fn gif(screen: (u16, u16), frame: (u16, u16)) -> Vec<u8> {
    let mut b = tiny(image::ImageFormat::Gif);
    b[6..8].copy_from_slice(&screen.0.to_le_bytes());
    b[8..10].copy_from_slice(&screen.1.to_le_bytes());
    // The image descriptor: 0x2C, left, top, width, height (after any extensions).
    let global_table = if b[10] & 0x80 != 0 {
        3 << ((b[10] & 7) + 1)
    } else {
        0
    };
    let mut at = 13 + global_table;
    while b[at] == 0x21 {
        at += 2;
        while b[at] != 0 {
            at += b[at] as usize + 1;
        }
        at += 1;
    }
    assert_eq!(b[at], 0x2C, "image descriptor");
    b[at + 5..at + 7].copy_from_slice(&frame.0.to_le_bytes());
    b[at + 7..at + 9].copy_from_slice(&frame.1.to_le_bytes());
    b
}

/// The tiny BMP with its info header saying `w × h` (a negative height is top-down).
fn bmp(w: i32, h: i32) -> Vec<u8> {
    let mut b = tiny(image::ImageFormat::Bmp);
    b[18..22].copy_from_slice(&w.to_le_bytes());
    b[22..26].copy_from_slice(&h.to_le_bytes());
    b
}

/// The tiny lossless WebP with its VP8L header saying `w × h` (14 bits each).
fn webp_lossless(w: u32, h: u32) -> Vec<u8> {
    let mut b = tiny(image::ImageFormat::WebP);
    assert_eq!(&b[12..16], b"VP8L");
    let bits = u32::from_le_bytes([b[21], b[22], b[23], b[24]]);
    let bits = (bits & !0x0FFF_FFFF) | (w - 1) | ((h - 1) << 14);
    b[21..25].copy_from_slice(&bits.to_le_bytes());
    b
}

/// The tiny lossless WebP inside an extended (VP8X) file whose canvas is `w × h` (24 bits
/// each): the canvas is what the decoder reports.
fn webp_extended(w: u32, h: u32) -> Vec<u8> {
    let simple = tiny(image::ImageFormat::WebP);
    let mut vp8x = b"VP8X".to_vec();
    vp8x.extend(10u32.to_le_bytes());
    vp8x.extend([0, 0, 0, 0]);
    vp8x.extend(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(vp8x);
    body.extend(&simple[12..]);
    let mut b = b"RIFF".to_vec();
    b.extend((body.len() as u32).to_le_bytes());
    b.extend(body);
    b
}

/// A PNG of `w × h` 8-bit grayscale pixels, all zero, whose IDAT is a valid zlib stream of
/// all the rows: a few hundred bytes for gigabytes of pixels. The deflate stream is written
/// here (fixed Huffman codes: one literal zero, then repeats of the previous 258 bytes).
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let raw = (w as u64 + 1) * h as u64; // a filter byte per row, then the row
    let mut bits = BitWriter::default();
    bits.put(0b1, 1); // final block
    bits.put(0b01, 2); // fixed Huffman codes
    bits.put_code(0b0011_0000, 8); // literal 0
    let mut left = raw - 1;
    while left >= 258 {
        bits.put_code(0b1100_0101, 8); // length 258
        bits.put_code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.put_code(0b0011_0000, 8);
    }
    bits.put_code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(bits.finish());
    // Adler-32 of `raw` zero bytes: a = 1, b = raw mod 65521.
    zlib.extend((((raw % 65521) as u32) << 16 | 1).to_be_bytes());

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
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit grayscale
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    out
}

/// Deflate's bit order: fields least significant bit first, Huffman codes most significant.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u64, n: u32) {
        self.acc |= value << self.n;
        self.n += n;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    fn put_code(&mut self, code: u64, n: u32) {
        let reversed = (0..n).fold(0, |r, i| r | ((code >> i) & 1) << (n - 1 - i));
        self.put(reversed, n);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// Peak resident memory of this process so far (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn the_bomb_writer_makes_valid_pngs() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926); // the standard check value
    let small = decode::decode(&png_bomb(300, 200), "bomb").unwrap();
    assert_eq!((small.width, small.height), (300, 200));
    assert!(small.data.iter().all(|&v| v == 0));
}

/// Every case in one test, so that the peak memory measured is theirs alone.
#[test]
fn oversized_images_are_refused_before_their_pixels_are_allocated() {
    let over = MAX_SIDE + 1;
    // Square sides whose area is over the pixel limit while each side is within its own.
    let square = (MAX_PIXELS as f64).sqrt() as u32 + 1;
    assert!(square <= MAX_SIDE);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PNG 60000x60000", png(60_000, 60_000)),
        ("PNG 4294967295x1", png(u32::MAX, 1)),
        ("PNG side over the limit", png(over, 1)),
        ("PNG area over the limit", png(square, square)),
        ("JPEG 65535x65535", jpeg(u16::MAX, u16::MAX)),
        (
            "JPEG area over the limit",
            jpeg(square as u16, square as u16),
        ),
        ("GIF screen 65535x65535", gif((u16::MAX, u16::MAX), (4, 3))),
        ("GIF frame 65535x65535", gif((4, 3), (u16::MAX, u16::MAX))),
        (
            "GIF both 65535x65535",
            gif((u16::MAX, u16::MAX), (u16::MAX, u16::MAX)),
        ),
        ("BMP 100000x100000", bmp(100_000, 100_000)),
        ("BMP top-down 100000x100000", bmp(100_000, -100_000)),
        ("BMP i32::MAX x i32::MIN", bmp(i32::MAX, i32::MIN)),
        // 16383, not VP8L's 16384: image-webp 0.2 reads 16384 as 0 (refused as empty).
        ("WebP lossless 16383x16383", webp_lossless(16_383, 16_383)),
        (
            "WebP canvas 16777216x16777216",
            webp_extended(1 << 24, 1 << 24),
        ),
        ("PNG bomb 16384x16384", png_bomb(16_384, 16_384)),
        ("PNG bomb area over the limit", png_bomb(square, square)),
    ];
    let before = peak_rss();
    for (what, bytes) in &cases {
        let error = decode::decode(bytes, what)
            .err()
            .unwrap_or_else(|| panic!("{what} ({} bytes) was decoded", bytes.len()));
        let message = error.to_string();
        // Refused for its size (by embedkit's check of the header, or by the `image` crate's
        // limits that embedkit sets), not for some other damage.
        assert!(
            message.starts_with(&format!("image {what}:"))
                && (message.contains("limit") || message.contains("too large")),
            "{message}"
        );
    }
    // The smallest case would decode to 100 M pixels (300 MB of RGB); all of them together
    // may grow the peak by what the encoders and the file bytes take.
    if let (Some(a), Some(b)) = (before, peak_rss()) {
        assert!(b - a < 64 << 20, "peak memory grew by {} bytes", b - a);
    }
}
