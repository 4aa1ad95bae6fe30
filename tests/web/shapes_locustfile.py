"""The class picker's two User classes (from two_classes_locustfile.py) and two LoadTestShape classes: which
routes were hit says which classes ran, and the users a test reached say which shape (if any) drove it. Each shape
ends on its own."""

from two_classes_locustfile import Browsing, Buying  # noqa: F401 - the classes this locustfile runs

from horde import LoadTestShape


class ThreeUsers(LoadTestShape):
    def tick(self):
        return (3, 50) if self.get_run_time() < 3 else None


class FiveUsers(LoadTestShape):
    def tick(self):
        return (5, 50) if self.get_run_time() < 3 else None
