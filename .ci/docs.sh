#!/usr/bin/env bash
# Build the documentation site with warnings (and broken references) as errors.
# Usage: bash .ci/docs.sh   (HTML in docs/_build/html)
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CONSTRAINT="${PIP_CONSTRAINT:-$PWD/.ci/constraints.txt}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e ".[docs]" 2> >(grep -v "^WARNING: Location '" >&2)
rm -rf docs/_build
.venv/bin/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html
echo "docs/_build/html/index.html"
