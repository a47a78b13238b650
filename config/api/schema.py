"""drf-spectacular hooks."""


def strip_optional_trailing_slash(endpoints, **kwargs):
    """Routes accept an optional trailing slash (`/?`); document them without it."""
    return [
        (path.rstrip("/") if path != "/" else path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]
