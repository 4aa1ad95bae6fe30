"""Two user classes of weight 3 and 1, one with a nested TaskSet: for --list and --show-task-ratio."""

from horde import TaskSet, User, constant, task


class Reader(User):
    weight = 3
    wait_time = constant(1)

    @task(3)
    def read(self):
        pass

    @task
    class Browse(TaskSet):
        @task
        def page(self):
            pass

        @task
        def back(self):
            pass


class Writer(User):
    wait_time = constant(1)

    @task
    def write(self):
        pass
