"""python manage.py recompute_progress: rebuild stored progress from the event log."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from achievements.models import Achievement
from events.services import progress_recompute
from loyalty.models import Customer

BATCH = 500


class Command(BaseCommand):
    help = ("Rebuild customers' achievement progress from their POSTED events with the same "
            "fold as ingestion (completions that may not be rolled back are kept). "
            "--dry-run prints the differences and writes nothing; on a consistent database "
            "it finds none.")

    def add_arguments(self, parser):
        parser.add_argument("--program", type=int, help="Only this program's achievements.")
        parser.add_argument("--achievement", type=int, action="append",
                            help="Only this achievement (repeatable).")
        parser.add_argument("--customer", help="Only this customer (integration id; needs "
                            "--program or --achievement).")
        parser.add_argument("--dry-run", action="store_true", help="Write nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, program, achievement, customer, dry_run, no_progress, **options):
        achievements = Achievement.objects.select_related("campaign__program", "classification")
        if program:
            achievements = achievements.filter(campaign__program_id=program)
        if achievement:
            achievements = achievements.filter(pk__in=achievement)
        by_program: dict[int, list[Achievement]] = {}
        for definition in achievements.order_by("pk"):
            by_program.setdefault(definition.campaign.program_id, []).append(definition)
        if achievement and not by_program:
            raise CommandError(f"No achievement {achievement}.")
        customers = Customer.objects.filter(program_id__in=list(by_program)).order_by("pk")
        if customer:
            if not (program or achievement):
                raise CommandError("--customer needs --program or --achievement.")
            customers = customers.filter(integration_id=customer)
        now = timezone.now()
        checked = changed = 0
        differences = 0
        with tqdm(total=customers.count(), unit=" customers", disable=no_progress or None,
                  file=self.stderr._out, desc="recompute") as bar:
            last = 0
            while True:
                batch = list(customers.filter(pk__gt=last)[:BATCH])
                if not batch:
                    break
                for row in batch:
                    result = progress_recompute(customer=row, now=now, dry_run=dry_run,
                                                achievements=by_program[row.program_id])
                    checked += 1
                    if result.differences:
                        changed += 1
                        differences += len(result.differences)
                        for difference in result.differences:
                            self.stdout.write(
                                f"customer {row.integration_id} achievement "
                                f"{difference['achievementId']}: {difference['change']} "
                                f"{difference['before']} -> {difference['after']}")
                    bar.update(1)
                last = batch[-1].pk
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"checked {checked} customers: {verb} {changed} "
                          f"({differences} iterations)")
