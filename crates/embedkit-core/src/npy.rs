//! NumPy `.npy` files (format version 1.0, little-endian, C order): writing `float32`
//! matrices, reading `float32` / `int64` arrays.

use std::io::{self, Read, Write};

/// A problem with an `.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// Reading or writing failed.
    #[error("npy i/o: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not an `.npy` file this reader understands.
    #[error("not a supported .npy file: {0}")]
    Format(String),
}

/// An array read from an `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T> {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<T>,
}

/// Writes `rows` (all of the same length) as a `<f4` matrix `[rows, cols]`.
pub fn write_f32_matrix<W: Write>(mut w: W, rows: &[Vec<f32>]) -> Result<(), NpyError> {
    let cols = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != cols) {
        return Err(NpyError::Format("rows of different lengths".into()));
    }
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        rows.len(),
        cols
    );
    // Magic (6) + version (2) + header length (2) + dict + newline, padded to 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    let padded = unpadded.div_ceil(64) * 64;
    let header = format!("{dict}{}\n", " ".repeat(padded - unpadded));
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    for row in rows {
        for v in row {
            w.write_all(&v.to_le_bytes())?;
        }
    }
    w.flush()?;
    Ok(())
}

fn read_header<R: Read>(r: &mut R) -> Result<(String, Vec<usize>), NpyError> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(NpyError::Format("missing \\x93NUMPY magic".into()));
    }
    let len = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(NpyError::Format(format!("version {v}"))),
    };
    let mut header = vec![0u8; len];
    r.read_exact(&mut header)?;
    let header = String::from_utf8_lossy(&header).into_owned();
    let field = |key: &str| -> Result<String, NpyError> {
        let start = header
            .find(key)
            .ok_or_else(|| NpyError::Format(format!("no {key} in header")))?
            + key.len();
        Ok(header[start..].trim_start_matches([':', ' ']).to_string())
    };
    if field("'fortran_order'")?.starts_with("True") {
        return Err(NpyError::Format("fortran order".into()));
    }
    let descr = field("'descr'")?;
    let descr = descr
        .trim_start_matches('\'')
        .split('\'')
        .next()
        .unwrap_or_default()
        .to_string();
    let shape = field("'shape'")?;
    let inner = shape
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or_default();
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| NpyError::Format(format!("bad shape {inner}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((descr, shape))
}

fn read_values<R: Read, T, const N: usize>(
    mut r: R,
    descr: &str,
    want: &str,
    shape: Vec<usize>,
    convert: fn([u8; N]) -> T,
) -> Result<Array<T>, NpyError> {
    if descr != want {
        return Err(NpyError::Format(format!("dtype {descr}, expected {want}")));
    }
    let count: usize = shape.iter().product();
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    if bytes.len() < count * N {
        return Err(NpyError::Format("file shorter than its shape".into()));
    }
    let data = bytes
        .chunks_exact(N)
        .take(count)
        .map(|c| convert(c.try_into().expect("chunks_exact yields N bytes")))
        .collect();
    Ok(Array { shape, data })
}

/// Reads a `<f4` array.
pub fn read_f32<R: Read>(mut r: R) -> Result<Array<f32>, NpyError> {
    let (descr, shape) = read_header(&mut r)?;
    read_values(r, &descr, "<f4", shape, f32::from_le_bytes)
}

/// Reads a `|u1` (uint8) array.
pub fn read_u8<R: Read>(mut r: R) -> Result<Array<u8>, NpyError> {
    let (descr, shape) = read_header(&mut r)?;
    read_values(r, &descr, "|u1", shape, |[b]: [u8; 1]| b)
}

/// Reads a `<i8` (int64) array.
pub fn read_i64<R: Read>(mut r: R) -> Result<Array<i64>, NpyError> {
    let (descr, shape) = read_header(&mut r)?;
    read_values(r, &descr, "<i8", shape, i64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_matrix_with_an_aligned_header() {
        let rows = vec![vec![1.0, -2.5], vec![3.25, 4.0], vec![0.0, 1e-7]];
        let mut buf = Vec::new();
        write_f32_matrix(&mut buf, &rows).unwrap();
        let data_start = buf.len() - 6 * 4;
        assert_eq!(data_start % 64, 0, "NumPy aligns the data to 64 bytes");
        let back = read_f32(&buf[..]).unwrap();
        assert_eq!(back.shape, vec![3, 2]);
        assert_eq!(back.data, rows.concat());
    }

    #[test]
    fn rejects_other_dtypes_and_short_files() {
        let mut buf = Vec::new();
        write_f32_matrix(&mut buf, &[vec![1.0]]).unwrap();
        assert!(read_i64(&buf[..]).is_err());
        assert!(read_f32(&buf[..buf.len() - 1]).is_err());
        assert!(read_f32(&b"not numpy"[..]).is_err());
    }
}
