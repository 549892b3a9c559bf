app_name = "rgpd_api"
urlpatterns: list = []
