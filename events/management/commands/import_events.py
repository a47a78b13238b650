"""python manage.py import_events --program ID FILE: load history from NDJSON."""

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from events.imports import events_import
from loyalty.models import Program


class Command(BaseCommand):
    help = ("Import customer events from NDJSON (one native event body a line, as POST "
            "/events takes it; FILE '-' reads standard input). Events of any age and in any "
            "order; each needs externalSystem + externalSystemReferenceNumber, so a second run "
            "(after a crash, say) replays what was stored and imports the rest.")

    def add_arguments(self, parser):
        parser.add_argument("--program", type=int, required=True, help="The program's id.")
        parser.add_argument("file", help="An NDJSON file, or - for standard input.")
        parser.add_argument("--no-progress", action="store_true",
                            help="No progress bar (it is off anyway when not on a terminal).")

    def handle(self, *args, program: int, file: str, no_progress: bool, **options):
        try:
            target = Program.objects.get(pk=program)
        except Program.DoesNotExist:
            raise CommandError(f"There is no program {program}.") from None
        if file == "-":
            stream, total = sys.stdin, None
        else:
            try:
                stream = open(file, encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
            total = None
        with stream, tqdm(total=total, unit=" lines", disable=no_progress or None,
                          file=self.stderr._out, desc="import") as bar:
            summary = events_import(program=target, lines=stream, now=timezone.now(),
                                    progress=bar.update)
        self.stdout.write(f"imported {summary.imported}, replayed {summary.replayed}, "
                          f"refused {summary.refused}")
        for refusal in summary.refusals[:50]:
            field = f" {refusal.field}:" if refusal.field else ""
            self.stdout.write(f"  line {refusal.line}:{field} {refusal.message}")
        if summary.refused > 50:
            self.stdout.write(f"  ... and {summary.refused - 50} more")
        if os.environ.get("LAUREL_IMPORT_STRICT") and summary.refused:
            raise CommandError("Some lines were refused.")
