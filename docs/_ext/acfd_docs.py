"""Reference tables generated from the code, written into the pages themselves.

The pages are read on GitHub and in editors as well as on the site, so what the code
defines is written into their source, between ``.. BEGIN GENERATED: NAME`` and
``.. END GENERATED: NAME`` comments:

- ``app-settings`` (docs/reference/settings.rst): every ``AUTH_CODE_FLOW_*`` setting,
  its default (``conf.DEFAULTS``) and the docstring of its ``conf.Settings`` property;
- ``provider-keys`` (docs/reference/providers.rst): every ``OAUTH_PROVIDERS`` key, its
  default (the ``Provider`` dataclass) and its ``#:`` comment, and the presets' values;
- ``django-commands`` (docs/reference/commands.rst): every management command, its
  module docstring and its own options (those Django adds to every command aside).

After changing any of these in the code, regenerate the pages::

    python docs/_ext/acfd_docs.py --write

``--check`` (and ``tests/test_docs.py``, and the Sphinx build) fail when a page differs
from what the code generates, or when a setting, key or command has no description.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
COMMAND = "python docs/_ext/acfd_docs.py --write"


def configure_django() -> None:
    """The minimal settings the generators and autodoc need (when none are set)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="docs-build-only",
            INSTALLED_APPS=[
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "auth_code_flow_django",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
            USE_TZ=True,
        )
    django.setup()


class MissingDescriptionError(Exception):
    """A setting, provider key or command the code does not describe."""


def literal(value: object) -> str:
    """``value`` as an inline literal (its Python repr)."""
    if isinstance(value, str):
        return f'``"{value}"``' if value else '``""``'
    return f"``{value!r}``"


PY_ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|exc|data|obj|setting):`~?\.?([^`]+)`")


def plain(text: str) -> str:
    """Docstring text without Sphinx roles (shown raw outside Sphinx): literals."""
    return PY_ROLE.sub(lambda match: f"``{match[1]}``", text)


def table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    """A ``list-table`` (standard reStructuredText, rendered by GitHub too)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in (header, *rows):
        for number, cell in enumerate(row):
            cell_lines = cell.splitlines() or [""]
            bullet = "   * - " if number == 0 else "     - "
            lines.append((bullet + cell_lines[0]).rstrip())
            lines += [f"       {line}".rstrip() for line in cell_lines[1:]]
    return [*lines, ""]


def named(label: str, name: str) -> str:
    """A table cell: ``name`` as a literal, with a link target (its id: ``label``
    lowercased, ``_`` as ``-``)."""
    return f".. _{label}:\n\n``{name}``"


def described(what: str, doc: str | None) -> str:
    if not doc or not doc.strip():
        raise MissingDescriptionError(f"{what} has no description")
    return plain(inspect.cleandoc(doc))


def app_settings() -> list[str]:
    """Every app setting with its default and the docstring of its property."""
    from auth_code_flow_django import conf

    rows = []
    for name, default in conf.DEFAULTS.items():
        prop = getattr(conf.Settings, name.removeprefix("AUTH_CODE_FLOW_"), None)
        doc = inspect.getdoc(prop) if isinstance(prop, property) else None
        # Pages link to settings.rst#auth-code-flow-state-ttl.
        rows.append((named(name, name), literal(default), described(f"setting {name}", doc)))
    return table(("Setting", "Default", "Meaning"), rows)


PRESET_KEY_DOC = (
    "A preset's name: it fills in the other keys (any of them can still be given, and "
    "wins). The presets and their values are listed below."
)


def _field_default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return literal(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return literal(dict(field.default_factory()))
    return "required"


FIELD = re.compile(r"^    (?P<name>\w+)\s*:")


def field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment lines right above each field of a class body, by name."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        field = FIELD.match(line)
        if line.strip().startswith("#:"):
            pending.append(line.strip()[2:].strip())
            continue
        if field and pending:
            comments[field["name"]] = "\n".join(pending)
        pending = []
    return comments


def provider_keys() -> list[str]:
    """Every ``OAUTH_PROVIDERS`` key with its default and ``#:`` comment; the presets."""
    from auth_code_flow_django import providers

    comments = field_comments(providers.Provider)
    # Pages link to providers.rst#key-scope.
    rows = [(named("key-preset", "preset"), "none", PRESET_KEY_DOC)]
    for field in dataclasses.fields(providers.Provider):
        if field.name not in providers.PROVIDER_KEYS:
            continue
        doc = comments.get(field.name)
        meaning = described(f"provider key {field.name}", doc)
        rows.append((named(f"key-{field.name}", field.name), _field_default(field), meaning))
    lines = table(("Key", "Default", "Meaning"), rows)
    lines += ["Presets", "-------", ""]
    lines += [
        "Each preset sets these keys; any of them given in the provider's entry wins.",
        "",
    ]
    for preset, values in providers.PRESETS.items():
        lines += [f"``{preset}``", ""]
        lines += [f"- ``{key}``: {literal(value)}" for key, value in values.items()]
        lines.append("")
    return lines


def _option_row(action: argparse.Action) -> tuple[str, str]:
    names = ", ".join(action.option_strings) or (action.metavar or action.dest)
    if action.choices is not None:
        names += " {" + ",".join(str(choice) for choice in action.choices) + "}"
    elif action.nargs != 0 and action.option_strings:
        names += f" {action.metavar or action.dest.upper()}"
    help_text = (action.help or "") % {**vars(action), "default": action.default}
    return f"``{names}``", help_text


def usage(name: str, parser: argparse.ArgumentParser, own: list[argparse.Action]) -> str:
    """``manage.py NAME`` with its own options (mutually exclusive ones as ``[a | b]``)."""
    groups = {
        id(action): group
        for group in parser._mutually_exclusive_groups
        for action in group._group_actions
    }
    parts: list[str] = []
    done: set[int] = set()
    for action in own:
        group = groups.get(id(action))
        if group is None:
            parts.append(f"[{_option_row(action)[0].strip('`')}]")
        elif id(group) not in done:
            done.add(id(group))
            members = [_option_row(member)[0].strip("`") for member in group._group_actions]
            parts.append(f"[{' | '.join(members)}]")
    return " ".join(["python manage.py", name, *parts, "[options]"])


def django_commands(app_label: str = "auth_code_flow_django") -> list[str]:
    """Every management command of the app: its docstring and its own options."""
    from django.apps import apps
    from django.core.management import find_commands, load_command_class
    from django.core.management.base import BaseCommand

    common = {
        option
        for action in BaseCommand().create_parser("manage.py", "command")._actions
        for option in action.option_strings
    }
    app = apps.get_app_config(app_label)
    lines: list[str] = []
    for name in sorted(find_commands(f"{app.path}/management")):
        command = load_command_class(app.name, name)
        module = inspect.getmodule(command)
        doc = described(f"management command {name}", inspect.getdoc(module) if module else None)
        parser = command.create_parser("manage.py", name)
        own = [
            action
            for action in parser._actions
            if not set(action.option_strings) & common and action.help != argparse.SUPPRESS
        ]
        lines += [f".. _command-{name}:", "", f"``{name}``", "-" * (len(name) + 4), ""]
        lines += [*doc.splitlines(), ""]
        lines += [".. code-block:: text", "", f"   {usage(name, parser, own)}", ""]
        if own:
            lines += table(("Option", "Meaning"), map(_option_row, own))
        else:
            lines += ["No options of its own.", ""]
    return lines


GENERATORS: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "app-settings": ("reference/settings.rst", app_settings),
    "provider-keys": ("reference/providers.rst", provider_keys),
    "django-commands": ("reference/commands.rst", django_commands),
}


def regenerated(name: str, text: str) -> str:
    """``text`` with the part between the ``name`` markers generated anew."""
    begin = f".. BEGIN GENERATED: {name} (edit the code, then run: {COMMAND})\n"
    end = f".. END GENERATED: {name}\n"
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"expected one {begin.strip()!r} and one {end.strip()!r} line")
    head, rest = text.split(begin)
    _old, tail = rest.split(end)
    body = "\n".join(GENERATORS[name][1]()).rstrip("\n")
    return f"{head}{begin}\n{body}\n\n{end}{tail}"


def stale_pages() -> list[str]:
    """The generated pages whose source differs from what the code generates now."""
    stale = []
    for name, (page, _generate) in GENERATORS.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        if regenerated(name, text) != text:
            stale.append(f"docs/{page}")
    return stale


def write_pages() -> list[str]:
    """Regenerate every page; returns those that changed."""
    changed = []
    for name, (page, _generate) in GENERATORS.items():
        path = DOCS / page
        text = path.read_text(encoding="utf-8")
        new = regenerated(name, text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(f"docs/{page}")
    return changed


# -- the Sphinx extension ---------------------------------------------------------------


def check_generated_pages(app: Any) -> None:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    try:
        stale = stale_pages()
    except (MissingDescriptionError, ValueError) as error:
        logger.warning("%s", error)
        return
    for page in stale:
        logger.warning("%s differs from the code: run %s", page, COMMAND)


def resolve_short_names(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Let docstrings name the package's classes without their module: a bare name that
    matches exactly one documented ``auth_code_flow_django`` object resolves to it."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target or "." in target:
        return None
    domain = env.get_domain("py")
    matches = [
        name
        for name in domain.objects
        if name.startswith("auth_code_flow_django.") and name.rsplit(".", 1)[-1] == target
    ]
    if len(matches) != 1:
        return None
    node["reftarget"] = matches[0]
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], matches[0], node, contnode
    )


PAGE_LINK = re.compile(r"^(?P<path>[^:#?]+\.(?:md|rst))?(?:#(?P<id>[\w.-]+))?$")


def page_links_as_references(app: Any, doctree: Any) -> None:
    """A reStructuredText link to a page's source (```text <page.md#id>`__``, which
    GitHub follows, or ```text <#id>`__`` on the same page) becomes a cross-reference
    resolved like a MyST link: to the page, and to the heading, label or target named
    after ``#``; a missing one warns."""
    from docutils import nodes
    from sphinx import addnodes

    env = app.env
    if env.doc2path(env.docname).suffix != ".rst":
        return
    for reference in list(doctree.findall(nodes.reference)):
        match = PAGE_LINK.match(reference.get("refuri", ""))
        if not match or not reference.get("refuri"):
            continue
        docname = env.docname
        if match["path"]:
            _relative, absolute = env.relfn2path(match["path"], env.docname)
            docname = env.path2doc(absolute)
        if docname is None:
            continue
        xref = addnodes.pending_xref(
            "",
            refdomain="doc",
            reftarget=docname,
            reftargetid=match["id"],
            refdoc=env.docname,
            reftype="myst",
            refexplicit=True,
        )
        xref += nodes.inline(reference.astext(), "", *reference.children)
        reference.replace_self(xref)


def anchor_python_objects(app: Any, doctree: Any) -> None:
    """Make each documented Python object a link target by its full name, so Markdown
    pages link to it as ``[name](../reference/page.rst#full.dotted.name)`` (a module
    as ``#module-full.name``)."""
    from docutils import nodes
    from sphinx import addnodes

    std = app.env.domaindata["std"]
    names = [
        node_id
        for node in doctree.findall(nodes.Element)
        for node_id in node.get("ids", [])
        # A module's target id ends up on the section or paragraph after it.
        if isinstance(node, addnodes.desc_signature) or node_id.startswith("module-")
    ]
    for node_id in names:
        std["anonlabels"].setdefault(node_id, (app.env.docname, node_id))


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", check_generated_pages)
    app.connect("missing-reference", resolve_short_names)
    app.connect("doctree-read", page_links_as_references)
    app.connect("doctree-read", anchor_python_objects)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the reference tables into docs/.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the pages")
    action.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(DOCS.parent))
    configure_django()
    if options.write:
        for page in write_pages():
            print(f"wrote {page}")
        return 0
    stale = stale_pages()
    for page in stale:
        print(f"{page} differs from the code: run {COMMAND}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
