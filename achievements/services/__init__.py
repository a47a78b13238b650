"""Writes for achievements (definitions and progress) and streak targets.

One module per sub-domain; this package re-exports what the other apps and interfaces use.
"""

from achievements.services.achievements import (
    EDITABLE_FIELDS,
    achievement_classification_attach,
    achievement_create,
    achievement_delete,
    achievement_failure_record,
    achievement_update,
)
from achievements.services.lifecycle import (
    achievement_disable,
    achievement_enable,
    achievement_switch,
)
from achievements.services.progress import (
    INCREASE,
    ROLLBACK,
    EventFacts,
    ProgressEffect,
    ProgressOutcome,
    counted_amount,
    progress_apply,
    progress_plan,
    progress_plan_cancel,
    progress_rebuild,
)
from achievements.services.streaks import (
    StreakOutcome,
    cycle_ledger,
    enrolment_open,
    enrolment_unenrol,
    streak_recompute,
    streaks_record_event,
    streaks_rollback_event,
    target_group_create,
    target_group_delete,
    target_group_update,
)

__all__ = [
    "EDITABLE_FIELDS",
    "INCREASE",
    "ROLLBACK",
    "EventFacts",
    "ProgressEffect",
    "ProgressOutcome",
    "StreakOutcome",
    "achievement_classification_attach",
    "achievement_create",
    "achievement_delete",
    "achievement_disable",
    "achievement_enable",
    "achievement_failure_record",
    "achievement_switch",
    "achievement_update",
    "counted_amount",
    "cycle_ledger",
    "enrolment_open",
    "enrolment_unenrol",
    "progress_apply",
    "progress_plan",
    "progress_plan_cancel",
    "progress_rebuild",
    "streak_recompute",
    "streaks_record_event",
    "streaks_rollback_event",
    "target_group_create",
    "target_group_delete",
    "target_group_update",
]
