from django.apps import AppConfig


class SecondPopulationConfig(AppConfig):
    name = "tests.second_population"
    label = "second_population"
    default_auto_field = "django.db.models.BigAutoField"
