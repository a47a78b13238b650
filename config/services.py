"""Generic helpers for services (no business rules here)."""

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def model_update(*, instance: M, data: dict[str, Any], fields: list[str]) -> tuple[M, list[str]]:
    """Set the given `fields` from `data` where present and changed, validate, save.

    Returns the instance and the names of the fields that changed.
    """
    changed = [
        field
        for field in fields
        if field in data and getattr(instance, field) != data[field]
    ]
    for field in changed:
        setattr(instance, field, data[field])
    if changed:
        instance.full_clean(validate_constraints=False)  # clean() names fields; the DB backs it
        update_fields = [*changed]
        if any(f.name == "updated_at" for f in instance._meta.fields):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return instance, changed
