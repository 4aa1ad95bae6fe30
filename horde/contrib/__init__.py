"""Locust's ``locust.contrib``: optional clients; horde provides ``fasthttp``."""
