from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """`/api/v1/programs` and `/api/v1/programs/` both work (POST included)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
