# Shared by the scripts in .ci/: source it, don't run it.

# Put the Go toolchain on PATH where CI machines install it, if go is not there already.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "go is not installed (looked on PATH and in /usr/local/go/bin)" >&2
  exit 1
fi

# step prints a banner for the next part of the run.
step() { printf '\n==> %s\n' "$*"; }

# go_files prints the repository's Go source files, NUL-separated, skipping what the go command
# skips too: testdata, vendor and directories whose names start with "." or "_".
go_files() {
  find . -mindepth 1 \
    \( -type d \( -name testdata -o -name vendor -o -name '.*' -o -name '_*' \) -prune \) \
    -o -type f -name '*.go' -print0
}
