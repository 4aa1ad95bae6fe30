"""FastHttpUser's JSON helpers in Locust's style; each method is one case the test calls."""

from locust import task
from locust.contrib.fasthttp import FastHttpUser


class Api(FastHttpUser):
    max_retries = 0
    network_timeout = 5.0
    connection_timeout = 5.0
    default_headers = {"X-Client": "compat"}

    @task
    def item(self):
        with self.rest("GET", "/items/5") as resp:
            assert resp.js["id"] == 5
            self.seen = resp.js

    def login(self):
        with self.rest("POST", "/login", json={"user": "demo"}) as resp:
            self.seen = resp.js["token"]

    def not_json(self):
        with self.rest("GET", "/text") as resp:
            self.seen = resp.js

    def failed_assert(self):
        with self.rest("GET", "/items/5") as resp:
            assert resp.js["id"] == 6, "wrong id,"

    def bare_assert(self):
        with self.rest("GET", "/items/5") as resp:
            assert resp.js["id"] == 6

    def broken_block(self):
        with self.rest("GET", "/items/5") as resp:
            resp.js["missing"]

    def cache_busting(self):
        with self.rest_("GET", "/items/7") as resp:
            self.seen = resp.js
