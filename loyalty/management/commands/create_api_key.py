from django.core.management.base import BaseCommand, CommandError

from loyalty.models import ApiKey, Program
from loyalty.services import api_key_create


class Command(BaseCommand):
    help = "Issue an API key and print it (it is stored hashed and never shown again)."

    def add_arguments(self, parser):
        parser.add_argument("--scope", required=True, choices=ApiKey.Scope.values)
        parser.add_argument("--program", type=int, help="Program id (management/integration).")
        parser.add_argument("--name", required=True, help="What the key is for.")

    def handle(self, *args, scope: str, program: int | None, name: str, **options):
        if scope == ApiKey.Scope.ACCOUNT and program is not None:
            raise CommandError("An account key covers every program; leave out --program.")
        if scope != ApiKey.Scope.ACCOUNT and program is None:
            raise CommandError(f"A {scope} key belongs to one program: give --program ID.")
        program_obj = None
        if program is not None:
            program_obj = Program.objects.filter(pk=program).first()
            if program_obj is None:
                raise CommandError(f"There is no program {program}.")
        _, raw_key = api_key_create(name=name, scope=scope, program=program_obj)
        self.stdout.write(raw_key)
