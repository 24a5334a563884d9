#!/usr/bin/env bash
# Build the sdist and the wheel (the wheel from the sdist), check their metadata, then
# install the wheel -- not the source tree -- into a fresh virtualenv and run the test
# suite against it from a copy of the repository without the package, so a template,
# migration, static file or py.typed missing from the wheel fails here.
#
# Usage: bash .ci/package.sh [pytest arguments]   (default: -m "not browser")
# DIST_DIR=path keeps the built files there instead of a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-$PWD/.ci/constraints.txt}"
log() { printf '\n--- %s\n' "$*"; }
# pip install into the virtualenv $1, quietly (this machine's pip config warns about
# missing local indexes on every package).
pip_install() {
    local venv=$1
    shift
    "$venv/bin/pip" install -q "$@" 2> >(grep -v "^WARNING: Location '" >&2)
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist="${DIST_DIR:-$work/dist}"
rm -rf "$dist"

log "build the sdist and the wheel (pinned build and twine)"
python3 -m venv "$work/tools"
pip_install "$work/tools" build twine
"$work/tools/bin/python" -m build --outdir "$dist" . >"$work/build.log" || {
    cat "$work/build.log"
    exit 1
}
sdist=$(ls "$dist"/*.tar.gz)
wheel=$(ls "$dist"/*.whl)
"$work/tools/bin/twine" check --strict "$sdist" "$wheel"

log "every file of the package is in the wheel"
# Tracked and new (not ignored) files, so a file added but left out of the wheel fails.
git ls-files --cached --others --exclude-standard -- auth_code_flow_django \
    | grep -v -e '__pycache__' -e '\.pyc$' | sort >"$work/source-files"
"$work/tools/bin/python" - "$wheel" >"$work/wheel-files" <<'EOF'
import sys
import zipfile

for name in sorted(zipfile.ZipFile(sys.argv[1]).namelist()):
    if name.startswith("auth_code_flow_django/"):
        print(name)
EOF
if ! missing=$(comm -23 "$work/source-files" "$work/wheel-files") || [ -n "$missing" ]; then
    printf 'missing from %s:\n%s\n' "$(basename "$wheel")" "$missing" >&2
    exit 1
fi
echo "$(wc -l <"$work/wheel-files") files"

log "install the wheel into a fresh virtualenv"
python3 -m venv "$work/venv"
pip_install "$work/venv" "$wheel[test]"
# The tests, docs and example project, without the package's source.
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    case "$file" in auth_code_flow_django/*) continue ;; esac
    if [ -e "$file" ]; then cp --parents -- "$file" "$work/src"; fi
done
test ! -e "$work/src/auth_code_flow_django"
cd "$work/src"
"$work/venv/bin/python" - <<'EOF'
import pathlib
import sysconfig

import auth_code_flow_django

where = pathlib.Path(auth_code_flow_django.__file__).resolve()
site = pathlib.Path(sysconfig.get_paths()["purelib"]).resolve()
assert site in where.parents, f"imported from {where}, not from {site}"
print(f"auth_code_flow_django {auth_code_flow_django.__version__} from {where.parent}")
EOF

log "the test suite against the installed wheel"
if [ $# -eq 0 ]; then
    set -- -m "not browser"
fi
# What the wheel is tested on is SQLite and loopback servers, whatever the caller requires.
AUTH_CODE_FLOW_TEST_REQUIRE="" AUTH_CODE_FLOW_TEST_INSTALLED=1 \
    "$work/venv/bin/pytest" -q --no-cov "$@"
