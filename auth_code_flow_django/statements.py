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

Building rests on the ORM's private API (``SQLCompiler.select`` and
``get_converters``, ``InsertQuery.insert_values``, ``SQLInsertCompiler.returning_fields``
and ``execute_sql``, ``Query.chain``...), which a Django release may change. Each
statement therefore also has a plain ORM path (``Select.first``: the queryset's first
row; ``Update.run``: ``update()``; ``Insert.run``: ``bulk_create()``, which like the
built insert sends no model signal), and one seam, ``_Statement._made``, chooses
between them when it builds for a connection: a build that fails, or whose result is
not of the shape this module relies on (``_Statement._verify``, once per statement),
makes that statement take the ORM path from then on, with one warning naming the
reason. The internal setting ``_AUTH_CODE_FLOW_ORM_STATEMENTS = True``
forces the ORM path everywhere (the test suite's ``orm_statements`` configuration,
and the benchmarks' ``--orm-statements``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import sql
from django.db.models.expressions import Expression
from django.dispatch import receiver

if TYPE_CHECKING:
    from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler

logger = logging.getLogger("auth_code_flow_django.statements")

M = TypeVar("M", bound=models.Model)

#: The internal setting that forces the plain ORM path (tests, CI and benchmarks).
FORCE_ORM = "_AUTH_CODE_FLOW_ORM_STATEMENTS"

#: Settings the SQL, its converters or the choice of path depend on.
_SETTINGS = frozenset({"DATABASES", "USE_TZ", "TIME_ZONE", FORCE_ORM})

#: The attribute of a connection object where its built statements are kept.
_ATTRIBUTE = "_auth_code_flow_statements"

#: Bumped when a setting in _SETTINGS changes: what was built or chosen before is stale.
_generation = 0

#: What a connection keeps for a statement that takes the plain ORM path.
_ORM = object()


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


class Unplaced(ValueError):
    """A statement's build leaves out a value it names: a mistake in the statement,
    which the ORM path would make as well."""


class Unexpected(Exception):
    """The ORM's internals are not what building a statement relies on."""


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise Unexpected(what)


def _accepts(function: Any, *args: Any) -> bool:
    try:
        inspect.signature(function).bind(*args)
    except (TypeError, ValueError):
        return False
    return True


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

    def __init__(self, compiler: SQLCompiler, text: str, params: Any, names: set[str]) -> None:
        _expect(isinstance(text, str), "the compiled SQL is not a string")
        self.compiler = compiler
        self.sql = text
        self.params = list(params)
        self.slots = [(i, p) for i, p in enumerate(self.params) if isinstance(p, Slot)]
        # A value the ORM left out of the SQL would be silently ignored at each run.
        if {slot.name for _, slot in self.slots} != names:
            raise Unplaced(f"the built statement does not place every value: {text}")

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
        #: The generation under which a build was verified, or refused (and why).
        self._verified = -1
        self._refused: tuple[int, str] | None = None

    def _make(self, connection: BaseDatabaseWrapper) -> Any:
        raise NotImplementedError

    def _verify(self, made: Any, connection: BaseDatabaseWrapper) -> None:
        """Raise :class:`Unexpected` if what :meth:`_make` returned, or what running
        it will call, is not of the shape this module relies on."""

    def built_on(self, connection: BaseDatabaseWrapper) -> Any:
        """What was built for ``connection`` under the current settings: ``None``
        before the first run, and on the plain ORM path."""
        made = _kept(connection).get(self)
        return None if made is _ORM else made

    def _made(self, connection: BaseDatabaseWrapper) -> Any:
        """The statement built for ``connection``, or ``None`` for the ORM path: the
        one place where the path is chosen."""
        kept = _kept(connection)
        made = kept.get(self)
        if made is None:
            made = kept[self] = self._choose(connection)
        return None if made is _ORM else made

    def _choose(self, connection: BaseDatabaseWrapper) -> Any:
        if getattr(settings, FORCE_ORM, False):
            return _ORM
        if self._refused is not None and self._refused[0] == _generation:
            return _ORM
        try:
            made = self._make(connection)
            if self._verified != _generation:
                self._verify(made, connection)
                self._verified = _generation
        except (Unplaced, DatabaseError):
            # A mistake in the statement itself, or the database's own failure (while
            # the backend reads its version, say): the ORM path would meet them too.
            raise
        except Exception as exc:
            # Only built with the slots: no value the library stores is in the message.
            reason = f"{type(exc).__name__}: {exc}"
            self._refused = (_generation, reason)
            logger.warning(
                "Django's ORM internals are not what auth_code_flow_django expects "
                "(%s); the %s statement on %s runs as a plain ORM query instead",
                reason,
                type(self).__name__,
                self.model._meta.label,
            )
            return _ORM
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
    ``lambda s: Token.objects.filter(user=s["user"])[:1]``; on the ORM path it gets
    the values themselves, and the queryset's first row is read."""

    def __init__(
        self,
        model: type[M],
        build: Callable[[dict[str, Any]], models.QuerySet[M]],
        **fields: str,
    ) -> None:
        super().__init__(model, **fields)
        self._build = build

    def _make(self, connection: BaseDatabaseWrapper) -> tuple[Built, list[str], list[Any]]:
        queryset = self._build(self.slots())
        compiler = queryset.query.get_compiler(connection=connection)
        text, params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        converters = [
            (position, converter_list, column)
            for position, (converter_list, column) in compiler.get_converters(columns).items()
        ]
        attnames = [column.target.attname for column in columns]
        return Built(compiler, text, params, set(self._fields)), attnames, converters

    def _verify(self, made: Any, connection: BaseDatabaseWrapper) -> None:
        _, attnames, converters = made
        concrete = {f.attname for f in self.model._meta.concrete_fields}
        _expect(set(attnames) <= concrete, "the selected columns are not the model's")
        for position, converter_list, column in converters:
            _expect(0 <= position < len(attnames), "a converter's column is not selected")
            for converter in converter_list:
                _expect(
                    _accepts(converter, None, column, connection),
                    "a converter does not take (value, expression, connection)",
                )

    def first(self, using: str, **values: Any) -> M | None:
        connection = connections[using]
        made = self._made(connection)
        if made is None:
            return next(iter(self._build(values).using(using)), None)
        built, attnames, converters = made
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
    """An ``UPDATE``: ``build`` gets the slots (on the ORM path, the values) and returns
    the queryset to update and the values to set, as ``queryset.update(**values)``
    takes them."""

    def __init__(
        self,
        model: type[M],
        build: Callable[[dict[str, Any]], tuple[models.QuerySet[M], dict[str, Any]]],
        **fields: str,
    ) -> None:
        super().__init__(model, **fields)
        self._build = build

    def _make(self, connection: BaseDatabaseWrapper) -> Built:
        queryset, values = self._build(self.slots())
        query = cast("sql.UpdateQuery", queryset.order_by().query.chain(sql.UpdateQuery))
        query.add_update_values(values)
        query.clear_select_clause()
        compiler = query.get_compiler(connection=connection)
        text, params = compiler.as_sql()
        return Built(compiler, text, params, set(self._fields))

    def run(self, using: str, **values: Any) -> int:
        """The number of rows updated."""
        connection = connections[using]
        built = self._made(connection)
        if built is None:
            queryset, changes = self._build(values)
            return queryset.using(using).update(**changes)
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(built.sql, built.bind(values))
            return int(cursor.rowcount)


class Insert(_Statement[M]):
    """An ``INSERT`` of one instance, as ``save(force_insert=True)`` makes it: each
    field's ``pre_save`` (``auto_now`` and the like) runs, and the key the database
    chose is set on the instance. Unlike ``save()``, it sends no ``pre_save`` or
    ``post_save`` signal (nor does ``bulk_create()``, its ORM path)."""

    def _columns(self) -> list[models.Field[Any, Any]]:
        meta = self.model._meta
        return [f for f in meta.local_concrete_fields if f is not meta.auto_field]

    def _make(self, connection: BaseDatabaseWrapper) -> tuple[Built, Any]:
        columns = self._columns()
        template = self.model(**{f.attname: Slot(f.attname, f) for f in columns})
        query = sql.InsertQuery(self.model)
        # raw: the slots stay as they are; each run calls pre_save() itself.
        query.insert_values(columns, [template], raw=True)
        compiler = query.get_compiler(connection=connection)
        _expect(hasattr(compiler, "returning_fields"), "the compiler has no returning_fields")
        compiler.returning_fields = self.model._meta.db_returning_fields
        ((text, params),) = compiler.as_sql()
        built = Built(compiler, text, params, {f.attname for f in columns})
        # The compiler runs the statement and reads back the key as the backend does
        # (RETURNING, or the last insert id): only its SQL is the built one.
        bound: list[tuple[str, list[Any]]] = []
        compiler.as_sql = lambda: bound
        return built, bound

    def _verify(self, made: Any, connection: BaseDatabaseWrapper) -> None:
        built, _ = made
        execute = built.compiler.execute_sql
        _expect(
            _accepts(execute, self.model._meta.db_returning_fields),
            "execute_sql() does not take the fields to return",
        )
        # The built SQL reaches the database only through the compiler's as_sql().
        code = getattr(type(built.compiler).execute_sql, "__code__", None)
        _expect(
            code is not None and "as_sql" in code.co_names,
            "execute_sql() does not call as_sql()",
        )

    def run(self, using: str, obj: M) -> None:
        made = self._made(connections[using])
        if made is None:
            self._insert_with_the_orm(using, obj)
            return
        built, bound = made
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

    def _insert_with_the_orm(self, using: str, obj: M) -> None:
        manager = self.model._base_manager.db_manager(using)
        # As the built insert: a failure inside the caller's atomic block marks it for
        # rollback (bulk_create() does not on every Django version).
        with transaction.mark_for_rollback_on_error(using=using):
            manager.bulk_create([obj])
        meta = self.model._meta
        if meta.auto_field is None or obj.pk is not None:
            return
        # A backend that returns no rows from bulk inserts (MySQL): the row's unique
        # key finds the key the database chose.
        key = self._unique_key()
        obj.pk = manager.filter(**{name: getattr(obj, name) for name in key}).values_list(
            "pk", flat=True
        )[0]
        obj._state.adding = False
        obj._state.db = using

    def _unique_key(self) -> list[str]:
        meta = self.model._meta
        for field in meta.local_concrete_fields:
            if field.unique and not field.primary_key:
                return [field.attname]
        for constraint in meta.total_unique_constraints:
            return [
                cast("models.Field[Any, Any]", meta.get_field(name)).attname
                for name in constraint.fields
            ]
        raise Unexpected(f"{meta.label} has no unique key to read its new row's key by")


@receiver(setting_changed)
def _forget(setting: str, **kwargs: Any) -> None:
    global _generation
    if setting in _SETTINGS:
        _generation += 1
