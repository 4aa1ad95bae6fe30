from horde import HttpUser, constant, task


class Second(HttpUser):
    wait_time = constant(0.05)

    @task
    def two(self):
        self.client.get("/items/2")
