"""The external references of the ACHIEVEMENT events Laurel posts for goals reached: made and
looked up here only.

Every goal event carries `externalSystem = LAUREL` and a reference that names the goal and
its occurrence, so the database's unique (program, externalSystem, reference) constraint
makes each one exactly once:

* an achievement's completion: `achievement:{achievementId}:iteration:{progressRowId}:` then
  what posted it (`event:{id}`, `event:{id}:cancel` when a cancellation made it, or
  `recompute:{instant}`): an iteration completed, taken back and completed again posts a new
  event through another trigger;
* a streak level: `streak-level:{levelId}:reached:{levelAchievementId}`;
* a milestone (DEFAULT target met in a cycle): `milestone:cycle:{cycleId}:event:{id}`.
"""

from datetime import datetime

from achievements.models import AchievementProgress, CycleProgress, StreakLevelAchievement
from events.models import CustomerEvent


def completion_prefix(record: AchievementProgress) -> str:
    """What every ACHIEVEMENT event of one iteration's completions starts with."""
    return f"achievement:{record.achievement_id}:iteration:{record.pk}:"


def completion(record: AchievementProgress, trigger: CustomerEvent | None, *,
               cancelled: bool, now: datetime) -> str:
    if trigger is None:
        return f"{completion_prefix(record)}recompute:{now.isoformat()}"
    return f"{completion_prefix(record)}event:{trigger.pk}{':cancel' if cancelled else ''}"


def level(achievement: StreakLevelAchievement) -> str:
    return f"streak-level:{achievement.level_id}:reached:{achievement.pk}"


def milestone_prefix(cycle: CycleProgress) -> str:
    return f"milestone:cycle:{cycle.pk}:"


def milestone(cycle: CycleProgress, trigger: CustomerEvent | None) -> str:
    return f"{milestone_prefix(cycle)}event:{trigger.pk if trigger else 0}"


def posted_goal_events(*, program_id: int, prefix: str | None = None,
                       reference: str | None = None, lock: bool = False):
    """Laurel's POSTED goal events with this reference, or whose reference starts with
    `prefix`."""
    events = CustomerEvent.objects.filter(
        program_id=program_id, external_system=CustomerEvent.LAUREL_SYSTEM,
        life_cycle_state=CustomerEvent.LifeCycleState.POSTED)
    if reference is not None:
        events = events.filter(external_system_reference_number=reference)
    if prefix is not None:
        events = events.filter(external_system_reference_number__startswith=prefix)
    return events.select_for_update() if lock else events
