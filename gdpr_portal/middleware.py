"""Project middlewares: the language the user chose, and no copy of personal data in any cache."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_cache_control


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Like LocaleMiddleware, but ignores the browser's Accept-Language header.

    The language is the one chosen with the header's language switch (Django's ``set_language``
    view stores it in the language cookie), else ``LANGUAGE_CODE`` (French).
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every page, API answer and download.

    They show personal data: neither the browser nor a proxy may keep a copy. Static files never reach
    this middleware (WhiteNoise, placed before it, or the static files handler answers them).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response
