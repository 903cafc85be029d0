"""The test suite. Imported before tests/conftest.py imports the app, so the app's settings
read this key: tests sign with a key of their own, never the one a development install
makes and keeps in ./jifen-secret.key (app/settings.py)."""

import os

os.environ.setdefault("JIFEN_SECRET_KEY", "tests-only-signing-key-of-the-jifen-test-suite")
