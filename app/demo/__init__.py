"""The demo behind `jifen demo`: a 党委, three branches and two years of their life."""

from app.demo.loader import DEMO_PASSWORD, DemoLogins, load_demo

__all__ = ["DEMO_PASSWORD", "DemoLogins", "load_demo"]
