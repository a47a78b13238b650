"""The API's JSON parser: camelCase keys become snake_case, and the body is checked against
the limits in config.api.limits before any serializer sees it."""

import json

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError

from config.api.limits import InputRefused, check_json, max_json_depth


class LaurelJSONParser(CamelCaseJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not valid {encoding}: {exc}") from exc
        try:
            data = json.loads(text)
        except RecursionError as exc:
            raise InputRefused(f"JSON is nested deeper than {max_json_depth()} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_json(data)
        return underscoreize(data, **camel_settings.JSON_UNDERSCOREIZE)
