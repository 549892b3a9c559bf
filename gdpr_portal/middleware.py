"""The back office speaks French unless the user picked another language with the switch."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
