"""Statements the ORM builds once per database connection and the library runs again.

Building a query costs Django far more than running it: reading a token by its
``(user, provider)`` key spends about 85% of its time making the SQL and its column
converters, and 15% in SQLite. The few statements the library runs on every request
(the token read behind every API call; on every connection, the state's insert, read
and consumption and the new token's insert) are therefore built once, by the ORM
itself, with a ``Slot`` where each value goes, and then run with new values.

Nothing here writes SQL: the ORM makes the statement for the backend in use, the
fields prepare each value exactly as a lookup or an update would, and the backend's
and the fields' converters turn the row into a model instance with ``from_db``.

Built statements are kept per connection object (each thread has its own, and
converters are bound to it), on the connection object itself: what they hold refers to
the connection, so anything kept elsewhere (a ``WeakKeyDictionary`` keyed by the
connection included) would keep every connection alive, one per thread, and Django's
ASGI handler runs each sync view on a new thread. Kept on it, they are one cycle with
it, which the garbage collector frees when its thread has gone. Nothing global refers
to a connection: a change of a setting they depend on bumps a generation number, and
each connection drops what it kept under an older one when next asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from django.core.signals import setting_changed
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
from django.dispatch import receiver

M = TypeVar("M", bound=models.Model)

#: Settings the SQL or its converters depend on.
_SETTINGS = frozenset({"DATABASES", "USE_TZ", "TIME_ZONE"})

#: The attribute of a connection object where its built statements are kept.
_ATTRIBUTE = "_auth_code_flow_statements"

#: Bumped when a setting in _SETTINGS changes: what was built before is stale.
_generation = 0


class _Kept(dict["_Statement[Any]", Any]):
    """One connection's built statements, made under one generation of settings."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


def _kept(connection: BaseDatabaseWrapper) -> _Kept:
    kept: _Kept | None = getattr(connection, _ATTRIBUTE, None)
    if kept is None or kept.generation != _generation:
        kept = _Kept(_generation)
        setattr(connection, _ATTRIBUTE, kept)
    return kept


class Slot(Expression):
    """Where a value goes in a built statement: compiles to one placeholder, whose
    parameter is the slot itself until :meth:`Built.bind` puts the value there."""

    def __init__(self, name: str, field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=field)
        self.name = name
        self.for_save = False

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Slot:
        resolved: Slot = super().resolve_expression(*args, **kwargs)
        resolved.for_save = bool(kwargs.get("for_save"))
        return resolved

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        return "%s", [self]

    def prepare(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        # As a lookup (get_prep_value, then get_db_prep_value) or an update would.
        if self.for_save:
            return self.output_field.get_db_prep_save(value, connection)
        return self.output_field.get_db_prep_value(value, connection, prepared=False)


class Built:
    """One statement made by the ORM for one connection, with its slots' positions."""

    def __init__(
        self, compiler: SQLCompiler, sql: str, params: tuple[Any, ...], names: set[str]
    ) -> None:
        self.compiler = compiler
        self.sql = sql
        self.params = list(params)
        self.slots = [(i, p) for i, p in enumerate(self.params) if isinstance(p, Slot)]
        # A value the ORM left out of the SQL would be silently ignored at each run.
        if {slot.name for _, slot in self.slots} != names:
            raise ValueError(f"the built statement does not place every value: {sql}")

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        params = self.params.copy()
        connection = self.compiler.connection
        for index, slot in self.slots:
            params[index] = slot.prepare(values[slot.name], connection)
        return params


class _Statement(Generic[M]):
    def __init__(self, model: type[M], **fields: str) -> None:
        self.model = model
        self._fields = fields

    def _make(self, connection: BaseDatabaseWrapper) -> Any:
        raise NotImplementedError

    def built_on(self, connection: BaseDatabaseWrapper) -> Any:
        """What was built for ``connection`` under the current settings, or ``None``."""
        return _kept(connection).get(self)

    def _made(self, connection: BaseDatabaseWrapper) -> Any:
        kept = _kept(connection)
        made = kept.get(self)
        if made is None:
            made = kept[self] = self._make(connection)
        return made

    def slots(self) -> dict[str, Slot]:
        meta = self.model._meta
        return {
            name: Slot(name, meta.pk if field == "pk" else meta.get_field(field))  # type: ignore[arg-type]
            for name, field in self._fields.items()
        }


class Select(_Statement[M]):
    """A ``SELECT`` of at most one row. ``build`` gets a :class:`Slot` for each named
    field and returns the queryset, e.g.
    ``lambda s: Token.objects.filter(user=s["user"])[:1]``."""

    def __init__(
        self,
        model: type[M],
        build: Callable[[dict[str, Slot]], models.QuerySet[M]],
        **fields: str,
    ) -> None:
        super().__init__(model, **fields)
        self._build = build

    def _make(self, connection: BaseDatabaseWrapper) -> tuple[Built, list[str], list[Any]]:
        queryset = self._build(self.slots())
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        converters = [
            (position, converter_list, column)
            for position, (converter_list, column) in compiler.get_converters(columns).items()
        ]
        attnames = [column.target.attname for column in columns]
        return Built(compiler, sql, params, set(self._fields)), attnames, converters

    def first(self, using: str, **values: Any) -> M | None:
        connection = connections[using]
        built, attnames, converters = self._made(connection)
        with connection.cursor() as cursor:
            cursor.execute(built.sql, built.bind(values))
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = list(row)
            for position, converter_list, column in converters:
                value = row[position]
                for converter in converter_list:
                    value = converter(value, column, connection)
                row[position] = value
        return self.model.from_db(using, attnames, row)


class Update(_Statement[M]):
    """An ``UPDATE``: ``build`` gets the slots and returns the queryset to update and
    the values to set (slots too), as ``queryset.update(**values)`` would take them."""

    def __init__(
        self,
        model: type[M],
        build: Callable[[dict[str, Slot]], tuple[models.QuerySet[M], dict[str, Any]]],
        **fields: str,
    ) -> None:
        super().__init__(model, **fields)
        self._build = build

    def _make(self, connection: BaseDatabaseWrapper) -> Built:
        queryset, values = self._build(self.slots())
        query = cast("UpdateQuery", queryset.order_by().query.chain(UpdateQuery))
        query.add_update_values(values)
        query.clear_select_clause()
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        return Built(compiler, sql, params, set(self._fields))

    def run(self, using: str, **values: Any) -> int:
        """The number of rows updated."""
        connection = connections[using]
        built = self._made(connection)
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(built.sql, built.bind(values))
            return int(cursor.rowcount)


class Insert(_Statement[M]):
    """An ``INSERT`` of one instance, as ``save(force_insert=True)`` makes it: each
    field's ``pre_save`` (``auto_now`` and the like) runs, and the key the database
    chose is set on the instance. Unlike ``save()``, it sends no ``pre_save`` or
    ``post_save`` signal."""

    def _columns(self) -> list[models.Field[Any, Any]]:
        meta = self.model._meta
        return [f for f in meta.local_concrete_fields if f is not meta.auto_field]

    def _make(self, connection: BaseDatabaseWrapper) -> tuple[Built, Any]:
        columns = self._columns()
        template = self.model(**{f.attname: Slot(f.attname, f) for f in columns})
        query = InsertQuery(self.model)
        # raw: the slots stay as they are; each run calls pre_save() itself.
        query.insert_values(columns, [template], raw=True)
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = self.model._meta.db_returning_fields
        ((sql, params),) = compiler.as_sql()
        built = Built(compiler, sql, params, {f.attname for f in columns})
        # The compiler runs the statement and reads back the key as the backend does
        # (RETURNING, or the last insert id): only its SQL is the built one.
        bound: list[tuple[str, list[Any]]] = []
        compiler.as_sql = lambda: bound
        return built, bound

    def run(self, using: str, obj: M) -> None:
        built, bound = self._made(connections[using])
        values = {f.attname: f.pre_save(obj, add=True) for f in self._columns()}
        returning = self.model._meta.db_returning_fields
        bound[:] = [(built.sql, built.bind(values))]
        try:
            with transaction.mark_for_rollback_on_error(using=using):
                compiler = cast("SQLInsertCompiler", built.compiler)
                # (django-stubs types returning_fields as names; Django takes fields.)
                rows = compiler.execute_sql(returning)  # type: ignore[arg-type]
        finally:
            bound.clear()
        for value, field in zip(rows[0] if rows else (), returning, strict=False):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = using


@receiver(setting_changed)
def _forget(setting: str, **kwargs: Any) -> None:
    global _generation
    if setting in _SETTINGS:
        _generation += 1
