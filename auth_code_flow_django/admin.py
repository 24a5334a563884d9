"""Admin for stored tokens (masked, never editable in clear) and pending authorizations."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import tokens
from .models import OAuthState, OAuthToken, OAuthTokenQuerySet


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


class ReadOnlyUserObjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shown, searched by user, never added or edited by hand."""

    list_select_related = ("user",)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # What these rows hold comes from providers; editing it by hand is never right.
        return False


@admin.register(OAuthToken)
class OAuthTokenAdmin(ReadOnlyUserObjectAdmin):
    list_display = (
        "user",
        "provider",
        "account_name",
        "scope",
        "expires_at",
        "status_display",
        "updated_at",
    )
    list_filter = ("provider", TokenStatusFilter)
    date_hierarchy = "updated_at"
    actions = ("revoke_and_delete",)
    fields = (
        "user",
        "provider",
        "account_id",
        "account_name",
        "status_display",
        "token_type",
        "scope",
        "expires_at",
        "masked_access_token",
        "masked_refresh_token",
        "needs_reauthorization",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (*super().get_search_fields(request), "account_id", "account_name")

    @admin.display(description=_("status"))
    def status_display(self, obj: OAuthToken) -> str:
        return {
            OAuthToken.STATUS_ACTIVE: str(_("active")),
            OAuthToken.STATUS_EXPIRED: str(_("expired")),
            OAuthToken.STATUS_REAUTHORIZE: str(_("needs re-authorization")),
        }[obj.status]

    @admin.display(description=_("access token"))
    def masked_access_token(self, obj: OAuthToken) -> str:
        return obj.masked_access_token()

    @admin.display(description=_("refresh token"))
    def masked_refresh_token(self, obj: OAuthToken) -> str:
        return obj.masked_refresh_token() or "-"

    @admin.action(description=_("Revoke at the provider and delete"), permissions=["delete"])
    def revoke_and_delete(self, request: HttpRequest, queryset: QuerySet[OAuthToken]) -> None:
        count = 0
        for token in queryset.select_related("user"):
            count += tokens.revoke(token.user, token.provider)
        self.message_user(
            request,
            ngettext("Removed %d connection.", "Removed %d connections.", count) % count,
            messages.SUCCESS,
        )


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


@admin.register(OAuthState)
class OAuthStateAdmin(ReadOnlyUserObjectAdmin):
    list_display = ("user", "provider", "created_at", "expires_at", "used_at", "is_expired")
    list_filter = ("provider", StateStatusFilter)
    actions = ("delete_expired",)
    fields = (
        "user",
        "provider",
        "redirect_uri",
        "next_url",
        "created_at",
        "expires_at",
        "used_at",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description=_("expired"))
    def is_expired(self, obj: OAuthState) -> bool:
        return obj.is_expired

    @admin.action(description=_("Delete expired states"), permissions=["delete"])
    def delete_expired(self, request: HttpRequest, queryset: QuerySet[OAuthState]) -> None:
        count, _details = queryset.filter(expires_at__lte=timezone.now()).delete()
        self.message_user(
            request,
            ngettext("Deleted %d state.", "Deleted %d states.", count) % count,
            messages.SUCCESS,
        )
