//! The integration tests, one crate so the binary and the helpers link once:
//! each module drives the built `minibuild` binary (or the library) on
//! contexts the tests write into temporary directories.

mod common;

mod add_url;
mod archive_add;
mod archive_fuzz;
mod archive_in_place;
mod archive_symlinks;
mod attest;
mod blob_trust;
mod cache;
mod cache_remote;
mod ci_outputs;
mod cli;
mod cli_explain;
mod cli_progress;
mod cli_shell;
mod context_fidelity;
mod context_names;
mod context_specials;
mod copy_fidelity;
mod copy_parents;
mod corpus_buildah;
mod corpus_buildkit;
mod debian;
mod dest_archive;
mod dest_layout;
mod dest_registry;
mod dest_registry_auth;
mod diff_buildah;
mod docker_archive_from;
mod executor_lib;
mod expand_buildkit;
mod fake_registry;
mod hostile;
mod hostile_race;
mod inspect_debian;
mod inspect_layers;
mod inspect_page;
mod inspect_peers;
mod inspect_verify;
mod language;
mod layer_archive;
mod multiplatform;
mod multiplatform_buildah;
mod multiplatform_index;
mod registry_credentials;
mod registry_hostile;
mod speed_layers;
mod stage_fidelity;
mod store_cli;
mod store_hygiene;
mod store_registry;
mod store_safety;
mod syntax_buildkit;
