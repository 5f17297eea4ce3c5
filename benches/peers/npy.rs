//! Just enough of NumPy's `.npy` format (version 1.0, little-endian, one
//! dimension) to hand columns to the Python peers and read them back.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// A column type with a NumPy dtype.
pub trait Element: Copy + Default {
    const DESCR: &'static str;
    const SIZE: usize;
    fn to_le(self, out: &mut Vec<u8>);
    fn from_le(bytes: &[u8]) -> Self;
}

macro_rules! element {
    ($t:ty, $descr:literal) => {
        impl Element for $t {
            const DESCR: &'static str = $descr;
            const SIZE: usize = std::mem::size_of::<$t>();
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("a whole element"))
            }
        }
    };
}

element!(u8, "|u1");
element!(u32, "<u4");
element!(i64, "<i8");
element!(u64, "<u8");

/// Writes `values` as a one-dimensional `.npy` file.
pub fn write<T: Element>(path: &Path, values: &[T]) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({},), }}",
        T::DESCR,
        values.len()
    );
    // Magic (6) + version (2) + length (2) + header, padded to 64 bytes, ending in '\n'.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    let mut buffer = Vec::with_capacity(1 << 20);
    for chunk in values.chunks((1 << 20) / T::SIZE) {
        buffer.clear();
        for &value in chunk {
            value.to_le(&mut buffer);
        }
        out.write_all(&buffer)?;
    }
    out.flush()
}

/// Reads a one-dimensional `.npy` file of `T` written by [`write`] (or NumPy).
pub fn read<T: Element>(path: &Path) -> io::Result<Vec<T>> {
    let bad = |detail: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {detail}", path.display()),
        )
    };
    let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut preamble = [0u8; 10];
    input.read_exact(&mut preamble)?;
    if &preamble[..6] != b"\x93NUMPY" || preamble[6] != 1 {
        return Err(bad("not a version 1 .npy file".into()));
    }
    let mut header = vec![0u8; u16::from_le_bytes([preamble[8], preamble[9]]) as usize];
    input.read_exact(&mut header)?;
    let header = String::from_utf8_lossy(&header);
    if !header.contains(&format!("'descr': '{}'", T::DESCR)) {
        return Err(bad(format!("expected dtype {}, header {header}", T::DESCR)));
    }
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse::<usize>().ok())
        .ok_or_else(|| bad(format!("no one-dimensional shape in {header}")))?;
    let mut values = Vec::with_capacity(shape);
    let mut buffer = vec![0u8; (1 << 20) / T::SIZE * T::SIZE];
    while values.len() < shape {
        let want = ((shape - values.len()) * T::SIZE).min(buffer.len());
        input.read_exact(&mut buffer[..want])?;
        values.extend(buffer[..want].chunks_exact(T::SIZE).map(T::from_le));
    }
    Ok(values)
}
