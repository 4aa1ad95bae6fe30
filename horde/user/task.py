"""Locust's ``locust.user.task``: the task decorators and TaskSet."""

from horde.runtime.tasks import DefaultTaskSet, TaskSet, TaskSetMeta, filter_tasks_by_tags, tag, task

__all__ = ["DefaultTaskSet", "TaskSet", "TaskSetMeta", "filter_tasks_by_tags", "tag", "task"]
