"""Admin for stored tokens (masked, never editable in clear) and pending authorizations."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import dateformat, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import tokens
from .core.stored_values import is_secret_field
from .models import OAuthState, OAuthToken, OAuthTokenQuerySet, mask


def masked_fields(value: object) -> object:
    """``value`` with the value of every field named like a credential masked."""
    if isinstance(value, Mapping):
        return {
            str(k): mask(str(v)) if is_secret_field(str(k)) else masked_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked_fields(v) for v in value]
    return value


class TokenStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (OAuthToken.STATUS_ACTIVE, _("active")),
            (OAuthToken.STATUS_EXPIRED, _("expired")),
            (OAuthToken.STATUS_REAUTHORIZE, _("needs re-authorization")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        tokens = cast("OAuthTokenQuerySet", queryset)
        if self.value() == OAuthToken.STATUS_ACTIVE:
            return tokens.active()
        if self.value() == OAuthToken.STATUS_EXPIRED:
            return tokens.expired().filter(needs_reauthorization=False)
        if self.value() == OAuthToken.STATUS_REAUTHORIZE:
            return tokens.filter(needs_reauthorization=True)
        return queryset


def _user_search_fields() -> tuple[str, ...]:
    user_model = get_user_model()
    fields = {f"user__{user_model.USERNAME_FIELD}"}
    if any(f.name == "email" for f in user_model._meta.get_fields()):
        fields.add("user__email")
    return tuple(sorted(fields))


def when(value: datetime | None) -> str:
    """A time to the minute with its time zone (naive values are in ``TIME_ZONE``)."""
    if value is None:
        return "-"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, "Y-m-d H:i T")


class ReadOnlyUserObjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shown, searched by user and provider, never added or edited by hand."""

    list_select_related = ("user",)
    search_help_text = _("Search by username or email, or by provider (its slug, or its start).")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Every page names the user (titles, confirmation lists): one query, not N.
        return super().get_queryset(request).select_related("user")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # "^": slugs that start with the term ("git": github and gitlab), as people type them.
        return (*_user_search_fields(), "^provider")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # What these rows hold comes from providers; editing it by hand is never right.
        return False


@admin.register(OAuthToken)
class OAuthTokenAdmin(ReadOnlyUserObjectAdmin):
    """Deleting a token here (its page's Delete button or the "delete selected" action)
    revokes the grant at the provider too, through ``tokens.revoke()`` as disconnecting does."""

    list_display = (
        "user",
        "provider",
        "account_display",
        "scope",
        "expires_display",
        "status_display",
        "updated_display",
    )
    list_filter = ("provider", TokenStatusFilter)
    date_hierarchy = "updated_at"
    fields = (
        "user",
        "provider",
        "account_id",
        "account_name",
        "status_display",
        "token_type",
        "scope",
        "expires_display",
        "masked_access_token",
        "masked_refresh_token",
        "extra_display",
        "reauthorization_display",
        "created_display",
        "updated_display",
    )
    readonly_fields = fields
    search_help_text = _(
        "Search by username or email, by provider (its slug, or its start), or by the "
        "account at the provider (its exact id, or part of its name)."
    )

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (*super().get_search_fields(request), "=account_id", "account_name")

    @admin.display(description=_("account"), ordering="account_name")
    def account_display(self, obj: OAuthToken) -> str:
        return obj.account_display or "-"

    @admin.display(description=_("status"))
    def status_display(self, obj: OAuthToken) -> str:
        return {
            OAuthToken.STATUS_ACTIVE: str(_("active")),
            OAuthToken.STATUS_EXPIRED: str(_("expired")),
            OAuthToken.STATUS_REAUTHORIZE: str(_("needs re-authorization")),
        }[obj.status]

    @admin.display(description=_("needs re-authorization"))
    def reauthorization_display(self, obj: OAuthToken) -> str:
        if obj.needs_reauthorization:
            return str(
                _("Yes: the provider refused the refresh token; the user must connect again.")
            )
        return str(_("No"))

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires_display(self, obj: OAuthToken) -> str:
        return when(obj.expires_at)

    @admin.display(description=_("created"), ordering="created_at")
    def created_display(self, obj: OAuthToken) -> str:
        return when(obj.created_at)

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated_display(self, obj: OAuthToken) -> str:
        return when(obj.updated_at)

    @admin.display(description=_("access token"))
    def masked_access_token(self, obj: OAuthToken) -> str:
        return obj.masked_access_token()

    @admin.display(description=_("refresh token"))
    def masked_refresh_token(self, obj: OAuthToken) -> str:
        return obj.masked_refresh_token() or "-"

    @admin.display(description=_("other reply fields"))
    def extra_display(self, obj: OAuthToken) -> str:
        # Credentials are never stored here; a row written some other way still shows
        # none in clear.
        if not obj.extra:
            return "-"
        return json.dumps(masked_fields(obj.extra), indent=2, sort_keys=True)

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes ``action_location`` and returns ``Action`` objects (whose
        # unpacking it deprecates); Django 5.2 passes nothing and returns tuples.
        if action_location is None:
            actions = super().get_actions(request)
        else:
            actions = super().get_actions(  # type: ignore[call-arg,unused-ignore]
                request, action_location=action_location
            )
        stock: Any = actions.get("delete_selected")
        if stock is None:
            return actions
        description = gettext("Revoke at the provider and delete selected %(verbose_name_plural)s")
        if isinstance(stock, tuple):
            actions["delete_selected"] = (stock[0], stock[1], description)
        else:
            actions["delete_selected"] = dataclasses.replace(
                stock, description=description, plural_description=description
            )
        return actions

    def delete_model(self, request: HttpRequest, obj: OAuthToken) -> None:
        tokens.revoke(obj.user, obj.provider)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OAuthToken]) -> None:
        for token in queryset.select_related("user"):
            tokens.revoke(token.user, token.provider)


class StateStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("pending")), ("used", _("used")), ("expired", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "pending":
            return queryset.filter(used_at__isnull=True, expires_at__gt=now)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        return queryset


def state_status(obj: OAuthState) -> str:
    """As :class:`StateStatusFilter` sorts them: used wins over expired."""
    if obj.used_at is not None:
        return "used"
    return "expired" if obj.is_expired else "pending"


@admin.register(OAuthState)
class OAuthStateAdmin(ReadOnlyUserObjectAdmin):
    list_display = (
        "user",
        "provider",
        "status_display",
        "created_display",
        "expires_display",
        "used_display",
    )
    list_filter = ("provider", StateStatusFilter)
    actions = ("delete_expired_and_used",)
    fields = (
        "user",
        "provider",
        "status_display",
        "redirect_uri",
        "next_url",
        "created_display",
        "expires_display",
        "used_display",
    )
    readonly_fields = fields

    @admin.display(description=_("status"))
    def status_display(self, obj: OAuthState) -> str:
        return str(
            {"pending": _("pending"), "used": _("used"), "expired": _("expired")}[
                state_status(obj)
            ]
        )

    @admin.display(description=_("created"), ordering="created_at")
    def created_display(self, obj: OAuthState) -> str:
        return when(obj.created_at)

    @admin.display(description=_("expires"), ordering="expires_at")
    def expires_display(self, obj: OAuthState) -> str:
        return when(obj.expires_at)

    @admin.display(description=_("used"), ordering="used_at")
    def used_display(self, obj: OAuthState) -> str:
        return when(obj.used_at)

    @admin.action(description=_("Delete expired and used authorizations"), permissions=["delete"])
    def delete_expired_and_used(
        self, request: HttpRequest, queryset: QuerySet[OAuthState]
    ) -> None:
        finished = Q(expires_at__lte=timezone.now()) | Q(used_at__isnull=False)
        count, _details = queryset.filter(finished).delete()
        self.message_user(
            request,
            ngettext("Deleted %d state.", "Deleted %d states.", count) % count,
            messages.SUCCESS,
        )
