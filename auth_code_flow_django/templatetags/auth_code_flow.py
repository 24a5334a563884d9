"""Template tags of the app's own pages."""

from __future__ import annotations

from django import template
from django.urls import Resolver404, get_script_prefix, resolve

register = template.Library()


@register.simple_tag
def site_home() -> str:
    """The site's home page when its URLconf serves one, else ``""``.

    A new ``startproject`` site serves nothing at ``/``: a link there would be a 404.
    """
    try:
        resolve("/")
    except Resolver404:
        return ""
    return get_script_prefix()
