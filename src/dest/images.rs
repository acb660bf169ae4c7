//! Images in a layout: writing an [`Image`]'s config and manifest blobs,
//! and reading one back from its manifest.

use super::error::DestError;
use super::layout::Layout;
use crate::image::{Image, ImageConfig, Manifest};
use crate::oci::{self, Descriptor};

impl Layout {
    /// Writes the config and manifest blobs of `image`; the manifest's
    /// descriptor (with its platform). Its layers must be in the layout.
    pub fn write_image(&self, image: &Image) -> Result<Descriptor, DestError> {
        let config = image
            .config_bytes()
            .map_err(DestError::json("serializing the image config"))?;
        let config_digest = self.put_blob(&config)?;
        let manifest = image.manifest(config_digest, config.len() as u64);
        let bytes =
            oci::canonical_json(&manifest).map_err(DestError::json("serializing the manifest"))?;
        let digest = self.put_blob(&bytes)?;
        let mut desc = Descriptor::new(oci::MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
        desc.platform = Some(image.platform());
        Ok(desc)
    }

    /// Reads the image (manifest and config) `manifest` describes.
    pub fn read_image(&self, manifest: &Descriptor) -> Result<Image, DestError> {
        let m: Manifest = self.read_json(&manifest.digest)?;
        let config: ImageConfig = self.read_json(&m.config.digest)?;
        Ok(Image::from_base(&m, config))
    }
}
