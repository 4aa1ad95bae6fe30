"""horde: a load-testing framework in the line of Locust, built as an event-sourced actor system."""

__version__ = "0.1.0"
