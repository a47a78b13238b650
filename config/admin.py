"""Admin plumbing shared by the apps."""

from django.contrib import messages
from django.http import HttpResponseRedirect

from config.exceptions import ApplicationError


class ServiceErrorsAdminMixin:
    """Shows a business-rule refusal from a service as an error message on the form,
    instead of a server error. The admin's transaction has rolled back by then."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
