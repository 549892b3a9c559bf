from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rgpd", "0013_legal_holds_request_actions_reminders")]

    operations = [
        migrations.AddField(
            model_name="exportrequest",
            name="selection_label",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=600, verbose_name="selection"
            ),
        ),
    ]
