from django.urls import path

app_name = "rgpd_api"
urlpatterns: list = []
