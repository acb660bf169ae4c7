//! Reading a layer back: the one place a layer blob's bytes are turned
//! into its uncompressed tar, by media type, for every reader (the merged
//! filesystem of a stage, archives, `fsck`).

use std::io::{self, Read};

/// Whether `media_type` is a layer type [`uncompressed`] reads.
pub fn known_layer_type(media_type: &str) -> bool {
    media_type.ends_with("gzip")
        || media_type.ends_with("zstd")
        || media_type.ends_with(".tar")
        || media_type.ends_with(".tar.diff")
}

/// The uncompressed tar of a layer blob of `media_type` read from `blob`.
/// gzip is read as a multi-member stream (pigz and parallel gzip write
/// several members, and each is part of the one layer); OCI's
/// `tar+gzip`/`tar+zstd`/`tar`, Docker's `tar.gzip` and the
/// non-distributable variants are known. Any other type is refused.
pub fn uncompressed<'r>(media_type: &str, blob: impl Read + 'r) -> io::Result<Box<dyn Read + 'r>> {
    let blob = io::BufReader::with_capacity(1 << 20, blob);
    if media_type.ends_with("gzip") {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(blob)))
    } else if media_type.ends_with("zstd") {
        Ok(Box::new(zstd::stream::read::Decoder::with_buffer(blob)?))
    } else if known_layer_type(media_type) {
        Ok(Box::new(blob))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unsupported layer media type {media_type}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(media_type: &str, blob: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        uncompressed(media_type, blob)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_member_of_a_gzip_layer_is_read() {
        let mut blob = gzip(b"first ");
        blob.extend(gzip(b"second"));
        let t = "application/vnd.oci.image.layer.v1.tar+gzip";
        assert_eq!(read_all(t, &blob).unwrap(), b"first second");
        let docker = "application/vnd.docker.image.rootfs.diff.tar.gzip";
        assert_eq!(read_all(docker, &blob).unwrap(), b"first second");
    }

    #[test]
    fn zstd_plain_and_unknown_types() {
        let z = zstd::encode_all(&b"zz"[..], 3).unwrap();
        assert_eq!(
            read_all("application/vnd.oci.image.layer.v1.tar+zstd", &z).unwrap(),
            b"zz"
        );
        assert_eq!(
            read_all("application/vnd.oci.image.layer.v1.tar", b"raw").unwrap(),
            b"raw"
        );
        let err = read_all("application/x-what", b"").unwrap_err();
        assert!(err.to_string().contains("unsupported layer media type"));
    }
}
