"""The load side: users, tasks, wait times, HTTP clients, event hooks, user pool, locustfile loading."""
