//! In-process decompression of `.ko.gz`, `.ko.xz` and `.ko.zst` files (for
//! kernels whose `finit_module` cannot decompress) and of `/proc/config.gz`,
//! with pure-Rust decoders and a bound on the output.

use super::index::Compression;
use std::io::{self, Read};

/// Larger outputs are refused: no module or kernel config comes near it.
pub const MAX_DECOMPRESSED: u64 = 256 * 1024 * 1024;

/// Decompresses `data`, refusing output beyond [`MAX_DECOMPRESSED`].
pub fn decompress(kind: Compression, data: &[u8]) -> io::Result<Vec<u8>> {
    decompress_limited(kind, data, MAX_DECOMPRESSED)
}

pub fn decompress_limited(kind: Compression, data: &[u8], limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => {
            flate2::read::MultiGzDecoder::new(data)
                .take(limit + 1)
                .read_to_end(&mut out)?;
        }
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
            decoder.take(limit + 1).read_to_end(&mut out)?;
        }
        Compression::Xz => {
            let mut w = LimitedWriter {
                out: &mut out,
                limit,
            };
            lzma_rs::xz_decompress(&mut io::BufReader::new(data), &mut w)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e:?}")))?;
        }
    }
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("decompressed data exceeds {limit} bytes"),
        ));
    }
    Ok(out)
}

struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
}

impl io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() as u64 + buf.len() as u64 > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("decompressed data exceeds {} bytes", self.limit),
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// gzip of `data` (test helper, also used by fake trees).
    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_round_trip_and_limit() {
        let data = b"\x7fELF module bytes".repeat(100);
        let z = gzip(&data);
        assert_eq!(decompress(Compression::Gzip, &z).unwrap(), data);
        assert!(decompress_limited(Compression::Gzip, &z, 10).is_err());
        assert!(decompress(Compression::Gzip, b"not gzip").is_err());
    }

    #[test]
    fn xz_round_trip() {
        let data = b"xz payload ".repeat(50);
        let mut z = Vec::new();
        lzma_rs::xz_compress(&mut io::BufReader::new(&data[..]), &mut z).unwrap();
        assert_eq!(decompress(Compression::Xz, &z).unwrap(), data);
        assert!(decompress_limited(Compression::Xz, &z, 10).is_err());
        assert!(decompress(Compression::Xz, b"garbage").is_err());
    }

    #[test]
    fn zstd_frames() {
        // A zstd frame holding "hello\n" as a raw block (made by `zstd`).
        let z: &[u8] = &[
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
            0x0a, 0x53, 0x88, 0xbd, 0x91,
        ];
        match decompress(Compression::Zstd, z) {
            Ok(v) => assert_eq!(v, b"hello\n"),
            Err(e) => panic!("{e}"),
        }
        assert!(decompress(Compression::Zstd, b"garbage").is_err());
    }
}
