from django.db import migrations

# Event numbers come from one sequence instead of a counter on the program row, which every
# event of a program had to write (and hold locked until commit). Unique and increasing per
# program, with gaps.
SEQUENCE = "events_customerevent_number_seq"


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0002_drop_fk_indexes_led_by_composites"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE SEQUENCE {SEQUENCE} AS bigint; "
            f"SELECT setval('{SEQUENCE}', "
            "COALESCE((SELECT max(number) FROM events_customerevent), 0) + 1, false);",
            f"DROP SEQUENCE {SEQUENCE};",
        ),
    ]
