"""The schema is the truth: summaries, tags, parameters, error responses, typed effects."""

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_has_summary_resource_tag_and_error_responses(schema):
    for path, method, operation in operations(schema):
        if not path.startswith("/api/"):
            continue  # the vendor adapters answer their vendors' error shapes
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation["tags"] != ["programs"] or "{programId}" not in path, where
        for code in ("400", "401", "403", "404", "409", "429"):
            body = operation["responses"][code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ApiError"}, (where, code)


def test_tags_name_resources(schema):
    tags = {tag for _, _, operation in operations(schema) for tag in operation["tags"]}

    assert {"programs", "campaigns", "customers", "achievements", "events", "target-groups",
            "reward-offers", "currencies", "classifications", "notifications"} <= tags


def test_event_effects_are_a_union_discriminated_by_effect_type(schema):
    effect = schema["components"]["schemas"]["EventEffect"]

    assert effect["discriminator"]["propertyName"] == "effectType"
    assert {"increaseAchievementProgress", "rollbackIncreasedAchievementProgress",
            "achievementCustomerEvent", "awardTransaction", "awardTransactionCancelled",
            "achievementProgressKept", "streakLevelAchieved"} <= effect["discriminator"][
        "mapping"].keys()
    result = schema["components"]["schemas"]["CustomerEventResult"]["properties"]["effects"]
    assert result["items"] == {"$ref": "#/components/schemas/EventEffect"}


def test_customer_achievements_read_documents_its_filters_and_paging(schema):
    path = "/api/v1/programs/{programId}/customers/{integrationId}/achievements"
    names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}

    assert {"status", "campaignIds", "limit", "offset"} <= names


def test_progress_export_is_documented_as_csv(schema):
    path = "/api/v1/programs/{programId}/achievements/{id}/progress"
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]

    assert content["text/csv"]["schema"]["type"] == "string"
    assert "application/json" in content


def test_optional_and_nullable_fields_marked_as_sent(schema):
    components = schema["components"]["schemas"]
    ledger = components["LedgerEntry"]["properties"]["createdBy"]
    progress = components["AchievementProgressWithDefinition"]

    assert ledger.get("nullable") is True
    assert "achievementFixedStartDate" not in progress["required"]
    assert "startDate" not in progress["required"]
    assert "webhookSecret" not in components["Program"].get("required", [])
    assert "$ref" in progress["properties"]["status"] or "enum" in progress["properties"][
        "status"]
