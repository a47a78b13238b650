"""Database helpers for hot paths (no business rules here). PostgreSQL only, like Laurel."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import sql
from django.db.models.constants import OnConflict


@dataclass(frozen=True)
class ValuesTable:
    """`(VALUES (...), ...) AS v(id, ...)` for writing `fields` of many rows: the SQL, its
    parameters, and `"f" = v."f"::type` assignments to SET from it."""

    sql: str
    params: list
    assignments: str


def values_table(*, model: type[models.Model], objs: Sequence[models.Model],
                 fields: Sequence[str], extra: Sequence[tuple[str, Sequence]] = ()
                 ) -> ValuesTable:
    """The rows' primary keys, any `extra` columns (name, one value per row) and `fields`,
    as a VALUES list (PostgreSQL)."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    row = "(" + ", ".join(["%s"] * (1 + len(extra) + len(columns))) + ")"
    params: list = []
    for index, obj in enumerate(objs):
        params.append(pk.get_db_prep_value(obj.pk, connection))
        params.extend(values[index] for _, values in extra)
        params.extend(column.get_db_prep_save(getattr(obj, column.attname), connection)
                      for column in columns)
    names = ", ".join([f'"{pk.column}"', *(f'"{name}"' for name, _ in extra),
                       *(f'"{c.column}"' for c in columns)])
    return ValuesTable(
        sql=f'(VALUES {", ".join([row] * len(objs))}) AS v({names})',
        params=params,
        assignments=", ".join(
            f'"{c.column}" = v."{c.column}"::{c.cast_db_type(connection)}' for c in columns),
    )


def bulk_update_rows(*, model: type[models.Model], objs: Sequence[models.Model],
                     fields: Sequence[str]) -> None:
    """Write `fields` of many rows in one statement.

    `UPDATE t SET f = v.f FROM (VALUES ...) v WHERE t.id = v.id`, which costs a fraction of
    Django's `bulk_update` (a CASE expression per field and row) in Python.
    """
    if not objs:
        return
    meta = model._meta
    pk = meta.pk
    values = values_table(model=model, objs=objs, fields=fields)
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {values.assignments} FROM {values.sql} '
        f'WHERE t."{pk.column}" = v."{pk.column}"::{pk.cast_db_type(connection)}'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values.params)


def insert_or_skip(obj: models.Model) -> bool:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING id` for one new object.

    True (and `obj.pk` set) when the row went in; False when a unique constraint already
    holds one. One round trip where `exists()` + a savepoint + `save()` take four, and the
    constraint still decides under concurrency. Like `bulk_create`, it sends no model signals.
    """
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields
              if f is not meta.auto_field and not getattr(f, "generated", False)]
    query = sql.InsertQuery(type(obj), on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    [(statement, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


def one_or_none(queryset: models.QuerySet) -> Any:
    """The row of a lookup by a unique key, or None, without `.first()`'s ORDER BY id: with
    LIMIT 1, PostgreSQL may walk the primary key index and filter, linear in the table, instead
    of using the unique index."""
    return next(iter(queryset.order_by()[:1]), None)
