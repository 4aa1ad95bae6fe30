from horde import HttpUser, constant, task


class First(HttpUser):
    wait_time = constant(0.05)

    @task
    def one(self):
        self.client.get("/")
