from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` through content negotiation; views stream the CSV themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else b""
