"""The only layer that queries. Importing it registers the stored-text guard
(app/services/text.py), so no session of the app writes text without it."""

from app.services import text as _text  # noqa: F401
