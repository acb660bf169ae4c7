//! The examples each `--help` ends with (real commands, run on this
//! project's examples).

pub(crate) const TOP: &str = "\
Examples:
  minibuild -f examples/hello/Dockerfile -t hello:scratch examples/hello
  minibuild push hello:scratch docker://127.0.0.1:5000/hello:latest
  minibuild images --format json";

pub(crate) const BUILD: &str = "\
Examples:
  minibuild build -t hello:scratch examples/hello
  minibuild build --platform linux/amd64,linux/arm64 --sbom --provenance=mode=max --iidfile id -o docker://127.0.0.1:5000/hello:1 examples/hello
  SOURCE_DATE_EPOCH=0 minibuild build --explain --explain-cache -t hello:scratch examples/hello";

pub(crate) const IMAGES: &str = "\
Examples:
  minibuild images
  minibuild images --filter reference='hello*'
  minibuild images --format json | jq -r '.[].name'";

pub(crate) const INSPECT: &str = "\
Examples:
  minibuild inspect hello:scratch
  minibuild inspect --layers oci:hello-oci:hello:scratch
  minibuild inspect --tree --html hello.html oci-archive:hello.tar";

pub(crate) const LAYERS: &str = "\
Examples:
  minibuild layers hello:scratch
  minibuild layers --flat --path '/usr/bin/*' docker-archive:debian.tar
  minibuild layers --format json docker://127.0.0.1:5000/hello:latest";

pub(crate) const VERIFY: &str = "\
Examples:
  minibuild verify hello:scratch
  minibuild verify oci:hello-oci
  minibuild verify --format json oci-archive:hello.tar";

pub(crate) const INDEX: &str = "\
Examples:
  minibuild index create -t hello:multi hello:amd64 hello:arm64
  minibuild index create -t hello:multi -o docker://127.0.0.1:5000/hello:multi oci:amd64-out oci:arm64-out";

pub(crate) const INDEX_CREATE: &str = INDEX;

pub(crate) const RM: &str = "\
Examples:
  minibuild rm hello:scratch
  minibuild rm hello:scratch && minibuild prune";

pub(crate) const PRUNE: &str = "\
Examples:
  minibuild prune
  minibuild prune --cache --format json";

pub(crate) const SAVE: &str = "\
Examples:
  minibuild save hello:scratch oci-archive:hello.tar
  minibuild save hello:scratch docker-archive:hello-docker.tar
  minibuild save --progress plain debian:bookworm oci:debian-oci";

pub(crate) const PUSH: &str = "\
Examples:
  minibuild push hello:scratch docker://127.0.0.1:5000/hello:latest
  minibuild push --progress plain hello:scratch docker://127.0.0.1:5000/hello:1
  minibuild push --progress rawjson hello:scratch docker://127.0.0.1:5000/hello:1 2>events.jsonl";

pub(crate) const COMPLETIONS: &str = "\
Examples:
  minibuild completions bash > ~/.local/share/bash-completion/completions/minibuild
  minibuild completions zsh > ~/.zfunc/_minibuild
  minibuild completions fish > ~/.config/fish/completions/minibuild.fish";

pub(crate) const MAN: &str = "\
Examples:
  minibuild man | man -l -
  minibuild man > ~/.local/share/man/man1/minibuild.1";
