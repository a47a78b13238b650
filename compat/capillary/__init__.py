"""Capillary target groups and streaks (`/v3/targetGroups…`, `/v3/users/{userId}/targetGroups`)."""
