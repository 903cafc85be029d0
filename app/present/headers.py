"""Headers both doors put on answers."""

# On every answer that carries a credential (a token, a new API key, a device token, a
# password generated or set): no browser, proxy or cache keeps a copy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
