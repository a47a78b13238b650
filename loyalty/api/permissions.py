"""Who may do what.

- Staff users (admin session): everything.
- `account` keys: everything, in every program.
- `management` keys: read everything of their program, write its definitions.
- `integration` keys: read everything of their program, write events and customers.
A program key never sees another program: those URLs answer 404 (see ProgramScopedMixin).
"""

from rest_framework import permissions

from loyalty.models import ApiKey

Scope = ApiKey.Scope
EVERY_SCOPE = frozenset(Scope.values)
DEFINITION_WRITERS = frozenset({Scope.ACCOUNT, Scope.MANAGEMENT})
INTEGRATION_WRITERS = frozenset({Scope.ACCOUNT, Scope.INTEGRATION})
CUSTOMER_WRITERS = EVERY_SCOPE
ACCOUNT_ONLY = frozenset({Scope.ACCOUNT})


class HasProgramAccess(permissions.BasePermission):
    """Views declare `read_scopes` and `write_scopes`; staff sessions pass everything."""

    message = "This API key's scope does not allow this request."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if api_key is None:
            return bool(user.is_staff and user.is_active)
        safe = request.method in permissions.SAFE_METHODS
        allowed = getattr(view, "read_scopes" if safe else "write_scopes", ACCOUNT_ONLY)
        if api_key.scope not in allowed:
            self.message = (
                f"A {api_key.scope} key cannot {'read' if safe else 'change'} this resource; "
                f"it needs one of: {', '.join(sorted(allowed))}."
            )
            return False
        return True
