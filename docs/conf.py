"""Sphinx configuration: ``bash .ci/docs.sh`` builds the site with warnings as errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]
# argparse wraps --help to the terminal width: make the rendered help reproducible.
os.environ["COLUMNS"] = "88"

from acfd_docs import configure_django  # noqa: E402

configure_django()

import auth_code_flow_django  # noqa: E402

project = "auth-code-flow-django"
author = "the auth-code-flow-django developers"
copyright = "2026, the auth-code-flow-django developers"
release = auth_code_flow_django.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "acfd_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "*.png"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Class signatures repeat every dataclass field: the attributes are documented instead.
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True
autodoc_default_options = {"exclude-members": "__init__, __new__"}

# No network when building: names from other projects stay plain text.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(requests|django|datetime|collections|typing|cryptography|abc|ipaddress)(\..*)?"),
    (r"py:.*", r"(User|ClientAuthMethod|AnonymousUser|AbstractBaseUser|Any|Signal)"),
    (r"py:.*", r"(HttpRequest|HttpResponse|HttpResponseBase|HttpResponseRedirect)"),
    # Sphinx splits a dataclass field's "tuple[str, ...]" annotation at the comma.
    (r"py:class", r"tuple\[str"),
]

html_theme = "furo"
html_title = f"auth-code-flow-django {release}"
html_static_path: list[str] = []
