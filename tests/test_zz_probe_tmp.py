import pytest, re
from django.urls import reverse
from tests.achievements.factories import AchievementProgressFactory
pytestmark = pytest.mark.django_db

def test_probe(admin_client):
    AchievementProgressFactory(progress=4, achievement__target=10)
    r = admin_client.get(reverse("admin:achievements_achievementprogress_changelist"))
    c = r.content.decode()
    i = c.find("width:120px")
    print(c[i-200:i+400])
