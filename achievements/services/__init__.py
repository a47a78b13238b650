"""Writes for achievements (definitions and progress) and streak targets.

One module per sub-domain; this package re-exports what the other apps and interfaces use.
"""

from achievements.services.achievements import (
    EDITABLE_FIELDS,
    INCREASE,
    ROLLBACK,
    EventFacts,
    ProgressEffect,
    Rollback,
    achievement_classification_attach,
    achievement_create,
    achievement_delete,
    achievement_progress_record_event,
    achievement_progress_rollback_event,
    achievement_update,
)
from achievements.services.lifecycle import achievement_disable, achievement_enable
from achievements.services.streaks import (
    StreakOutcome,
    cycle_ledger,
    enrolment_enrol,
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
    "Rollback",
    "StreakOutcome",
    "achievement_classification_attach",
    "achievement_create",
    "achievement_delete",
    "achievement_disable",
    "achievement_enable",
    "achievement_progress_record_event",
    "achievement_progress_rollback_event",
    "achievement_update",
    "cycle_ledger",
    "enrolment_enrol",
    "enrolment_unenrol",
    "streak_recompute",
    "streaks_record_event",
    "streaks_rollback_event",
    "target_group_create",
    "target_group_delete",
    "target_group_update",
]
