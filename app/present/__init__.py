"""What both doors render: translations, the Jinja environment, labels, notice texts, the
printed notices and their PDF, downloads. Imports services and points, never a door."""
