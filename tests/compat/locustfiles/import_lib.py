"""A helper module next to the locustfile, importing Locust's names itself, as Locust projects' lib/ modules do."""

from locust import task
from locust.exception import StopUser

TASKS_PER_USER = 5


@task
def browse_item(user):
    user.client.get(f"/items/{user.done % 3}", name="/items/[id]")
    user.count_task()


def stop_after(user, limit: int = TASKS_PER_USER) -> None:
    if user.done >= limit:
        raise StopUser()
