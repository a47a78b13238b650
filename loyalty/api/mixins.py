"""Plumbing for API views nested under /api/v1/programs/{programId}/."""

from functools import cached_property

from django.shortcuts import get_object_or_404

from loyalty.api.permissions import EVERY_SCOPE
from loyalty.models import ApiKey, Program
from loyalty.selectors import program_list


def request_api_key(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class ProgramScopedMixin:
    """Resolves `programId` from the URL; a program the caller may not see is a 404."""

    read_scopes = EVERY_SCOPE

    @cached_property
    def program(self) -> Program:
        api_key = request_api_key(self.request)
        if api_key is not None and api_key.program_id == self.kwargs["programId"]:
            return api_key.program  # loaded with the key, in this request: no second query
        programs = program_list(api_key=api_key)
        return get_object_or_404(programs, pk=self.kwargs["programId"])

    def check_permissions(self, request) -> None:
        # An authenticated caller gets 404 for a program it cannot see, before any 403.
        if request.user is not None and request.user.is_authenticated:
            _ = self.program
        super().check_permissions(request)
