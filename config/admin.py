"""Admin plumbing shared by the apps."""

from config.exceptions import ApplicationError


class ServiceErrorsAsFormErrors:
    """Show a service's refusal (`ApplicationError`) as a form error instead of a server error.

    `save_model` runs after the form has validated, inside the admin's transaction. When a
    service refuses, that transaction rolls back and the view runs once more with a form that
    carries the refusal, on the field the error names: nothing is written and the campaign
    manager sees what to fix next to what they typed.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            if request.method != "POST" or hasattr(request, "_service_error"):
                raise
            request._service_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                self.add_error(error.field if error.field in self.fields else None,
                               error.message)
                return cleaned_data

        return RefusedForm
