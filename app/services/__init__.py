"""The only layer that queries. Importing it registers the stored-text guard
(app/services/text.py) and the updated_at stamps (app/services/stamps.py), so no session of
the app writes text without the one or rows without the other."""

from app.services import stamps as _stamps  # noqa: F401
from app.services import text as _text  # noqa: F401
