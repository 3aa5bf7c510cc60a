//! int8 matrices and their npy files.

use std::path::Path;

use super::ModelError;

/// A row-major int8 matrix: `rows` vectors of `cols` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    data: Vec<i8>,
}

impl Int8Matrix {
    /// A matrix from row-major data; `data.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<i8>) -> Result<Self, ModelError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(ModelError::MatrixSize {
                rows,
                cols,
                len: data.len(),
            });
        }
        Ok(Int8Matrix { rows, cols, data })
    }
    /// Number of vectors.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Values per vector.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row-major values.
    pub fn data(&self) -> &[i8] {
        &self.data
    }
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
    /// Per row, the index of the largest value, the first one on a tie (a
    /// classifier's prediction; numpy's `argmax` agrees).
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.rows)
            .map(|r| {
                let row = self.row(r);
                let mut best = 0;
                for (i, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect()
    }
}

/// Read a 2-D int8 npy array (dtype `|i1`, C or Fortran order).
pub fn read_int8_matrix(path: impl AsRef<Path>) -> Result<Int8Matrix, ModelError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    int8_matrix_from_npy(&bytes, path)
}

/// A 2-D int8 npy array from the bytes of its file; `path` names it in
/// errors.
pub fn int8_matrix_from_npy(bytes: &[u8], path: &Path) -> Result<Int8Matrix, ModelError> {
    let pb = || path.to_path_buf();
    check_header_nesting(bytes).map_err(|why| ModelError::NpyFormat {
        path: pb(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
    })?;
    let npy =
        npyz::NpyFile::new(bytes).map_err(|source| ModelError::NpyFormat { path: pb(), source })?;
    let dtype = npy.dtype();
    let ok = matches!(&dtype, npyz::DType::Plain(t) if t.to_string() == "|i1");
    if !ok {
        return Err(ModelError::NpyDtype {
            path: pb(),
            expected: "int8 (|i1)",
            found: dtype.descr(),
        });
    }
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(ModelError::NpyShape {
            path: pb(),
            expected: "rank 2 [vectors, values]".into(),
            found: shape,
        });
    }
    let too_big = || ModelError::NpyShape {
        path: pb(),
        expected: "a size that fits in memory".into(),
        found: shape.clone(),
    };
    let rows = usize::try_from(shape[0]).map_err(|_| too_big())?;
    let cols = usize::try_from(shape[1]).map_err(|_| too_big())?;
    let order = npy.order();
    let flat: Vec<i8> = npy
        .into_vec()
        .map_err(|source| ModelError::NpyFormat { path: pb(), source })?;
    let data = match order {
        npyz::Order::C => flat,
        npyz::Order::Fortran => {
            let mut d = vec![0i8; flat.len()];
            for c in 0..cols {
                for r in 0..rows {
                    d[r * cols + c] = flat[c * rows + r];
                }
            }
            d
        }
    };
    Int8Matrix::new(rows, cols, data)
}

/// Refuses a header whose Python literal nests brackets: an int8 array's
/// header is one dict with a plain dtype string and one shape tuple, and
/// npyz's header parser takes exponential time on deeply nested brackets
/// (found by the npy_loader fuzz target: 56 `[` took minutes).
fn check_header_nesting(bytes: &[u8]) -> Result<(), String> {
    let Some(&major) = bytes.get(6) else {
        return Ok(()); // too short: npyz names the problem
    };
    let (start, len): (usize, usize) = match major {
        1 if bytes.len() >= 10 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        _ => return Ok(()),
    };
    let header = &bytes[start..bytes.len().min(start.saturating_add(len))];
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b'[') > 0 || count(b'(') > 1 || count(b'{') > 1 {
        return Err(
            "the header nests lists, tuples or dicts: an int8 array's header is \
             one dict with a dtype string and one shape tuple"
                .into(),
        );
    }
    Ok(())
}

/// The bytes of a 2-D int8 npy file (format 1.0, C order), header exactly
/// as numpy's `np.save` writes it (`'shape': (R, C)`, padded with spaces
/// so the data starts at a multiple of 64 bytes), so a file of the same
/// array is the same bytes whichever wrote it.
pub fn int8_npy_bytes(m: &Int8Matrix) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '|i1', 'fortran_order': False, 'shape': ({}, {}), }}",
        m.rows, m.cols
    );
    // Magic (6) + version (2) + header length (2) + header + '\n'.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = Vec::with_capacity(10 + header.len() + m.data.len());
    v.extend_from_slice(b"\x93NUMPY\x01\x00");
    v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend(m.data.iter().map(|&x| x as u8));
    v
}

/// Write a matrix as a 2-D int8 npy array (C order), byte for byte as
/// numpy would ([`int8_npy_bytes`]).
pub fn write_int8_matrix(path: impl AsRef<Path>, m: &Int8Matrix) -> Result<(), ModelError> {
    let path = path.as_ref();
    std::fs::write(path, int8_npy_bytes(m)).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((header.len() as u16).to_le_bytes());
        v.extend(header.as_bytes());
        v.extend(data);
        v
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    #[test]
    fn round_trip_and_hand_made_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = Int8Matrix::new(2, 3, vec![-128, 0, 127, 1, -1, 5]).unwrap();
        let p = dir.path().join("m.npy");
        write_int8_matrix(&p, &m).unwrap();
        assert_eq!(read_int8_matrix(&p).unwrap(), m);
        let raw = [0x80u8, 0, 0x7f, 1, 0xff, 5];
        let p = write(&dir, "h.npy", &npy_bytes("|i1", "(2, 3)", &raw));
        assert_eq!(read_int8_matrix(&p).unwrap(), m);
    }

    #[test]
    fn fortran_order_is_transposed() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = npy_bytes("|i1", "(2, 3)", &[1, 4, 2, 5, 3, 6]);
        let at = b.windows(5).position(|w| w == b"False").unwrap();
        b[at..at + 5].copy_from_slice(b"True ");
        let p = write(&dir, "f.npy", &b);
        let m = read_int8_matrix(&p).unwrap();
        assert_eq!(m.data(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn nested_headers_are_refused_at_once() {
        // The npy_loader fuzz target's input that kept npyz's header parser
        // busy for minutes.
        let b = include_bytes!("../../../tests/fuzz/seeds/npy_loader/regress_nested_brackets.npy");
        let t = std::time::Instant::now();
        let e = int8_matrix_from_npy(b, Path::new("x.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.npy") && e.contains("nests"), "{e}");
        assert!(t.elapsed().as_secs() < 5);
        // numpy's own headers still read.
        let m = Int8Matrix::new(2, 3, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            int8_matrix_from_npy(&int8_npy_bytes(&m), Path::new("x.npy")).unwrap(),
            m
        );
    }

    #[test]
    fn errors_name_file_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_int8_matrix(dir.path().join("none.npy")).unwrap_err();
        assert!(matches!(e, ModelError::Io { .. }), "{e}");
        assert!(e.to_string().contains("none.npy"), "{e}");

        let p = write(&dir, "u8.npy", &npy_bytes("|u1", "(1, 2)", &[1, 2]));
        let e = read_int8_matrix(&p).unwrap_err();
        assert!(matches!(e, ModelError::NpyDtype { .. }), "{e}");
        assert!(
            e.to_string().contains("u8.npy") && e.to_string().contains("|u1"),
            "{e}"
        );

        let p = write(&dir, "f32.npy", &npy_bytes("<f4", "(1, 1)", &[0; 4]));
        assert!(matches!(
            read_int8_matrix(&p).unwrap_err(),
            ModelError::NpyDtype { .. }
        ));

        let p = write(&dir, "r1.npy", &npy_bytes("|i1", "(3,)", &[1, 2, 3]));
        let e = read_int8_matrix(&p).unwrap_err();
        assert!(matches!(e, ModelError::NpyShape { .. }), "{e}");
        assert!(e.to_string().contains("r1.npy") && e.to_string().contains("rank 2"));

        let p = write(&dir, "r3.npy", &npy_bytes("|i1", "(1, 1, 1)", &[1]));
        assert!(matches!(
            read_int8_matrix(&p).unwrap_err(),
            ModelError::NpyShape { .. }
        ));

        let p = write(
            &dir,
            "short.npy",
            &npy_bytes("|i1", "(2, 3)", &[1, 2, 3, 4]),
        );
        let e = read_int8_matrix(&p).unwrap_err();
        assert!(matches!(e, ModelError::NpyFormat { .. }), "{e}");
        assert!(e.to_string().contains("short.npy"), "{e}");

        let p = write(&dir, "junk.npy", b"this is not npy");
        let e = read_int8_matrix(&p).unwrap_err();
        assert!(matches!(e, ModelError::NpyFormat { .. }), "{e}");

        let e = write_int8_matrix(
            dir.path().join("no/such/dir/o.npy"),
            &Int8Matrix::new(0, 0, vec![]).unwrap(),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                ModelError::Io {
                    action: "write",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn matrix_checks_size_and_argmax_takes_first() {
        assert!(matches!(
            Int8Matrix::new(2, 2, vec![0; 3]),
            Err(ModelError::MatrixSize { .. })
        ));
        let m = Int8Matrix::new(3, 3, vec![1, 5, 5, -3, -2, -2, 7, 0, 0]).unwrap();
        assert_eq!(m.argmax(), vec![1, 1, 0]);
    }

    #[test]
    fn written_files_are_numpys_bytes() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/digits/expected.npy");
        let want = std::fs::read(&p).unwrap();
        let m = read_int8_matrix(&p).unwrap();
        assert_eq!(int8_npy_bytes(&m), want);
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("y.npy");
        write_int8_matrix(&q, &m).unwrap();
        assert_eq!(std::fs::read(&q).unwrap(), want);
        // A 1-row, 1-column matrix: numpy writes (1, 1) too.
        let one = Int8Matrix::new(1, 1, vec![-3]).unwrap();
        let b = int8_npy_bytes(&one);
        assert_eq!(b.len() % 64, 1);
        assert_eq!(read_int8_matrix_bytes_for_test(&b), one);
    }

    fn read_int8_matrix_bytes_for_test(b: &[u8]) -> Int8Matrix {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "one.npy", b);
        read_int8_matrix(&p).unwrap()
    }
}
