//! What the command line adds to the built image: `--label` on its config,
//! `--annotation manifest:` on its manifest and `manifest-descriptor:` on
//! the descriptor that points at it (BuildKit applies both to the final
//! image only, after the Dockerfile's LABELs).

use super::BuildOptions;
use crate::dest::annotation::{annotate, annotations_for, AnnotationLevel};
use crate::image::Image;
use crate::oci::Descriptor;

/// Sets `opts.labels` on the config and the manifest annotations for the
/// image's platform.
pub(super) fn label_and_annotate(image: &mut Image, opts: &BuildOptions) {
    if !opts.labels.is_empty() {
        let labels = image
            .config
            .config
            .labels
            .get_or_insert_with(Default::default);
        labels.extend(opts.labels.iter().cloned());
    }
    let platform = image.platform();
    let wanted = annotations_for(&opts.annotations, AnnotationLevel::Manifest, &platform);
    image.annotations.extend(wanted);
}

/// Sets the `manifest-descriptor:` annotations for the image's platform
/// on `manifest`.
pub(super) fn annotate_descriptor(manifest: &mut Descriptor, opts: &BuildOptions) {
    let level = AnnotationLevel::ManifestDescriptor;
    let platform = manifest.platform.clone().unwrap_or(opts.platform.clone());
    annotate(
        manifest,
        annotations_for(&opts.annotations, level, &platform),
    );
}
