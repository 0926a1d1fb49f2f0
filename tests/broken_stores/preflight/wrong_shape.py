"""Preflight: the object has ``load_job`` where the harness needs ``get_job``."""


class Store:
    def __init__(self, root):
        self.jobs = {}

    def save_job(self, job_id, job):
        self.jobs[job_id] = job

    def load_job(self, job_id):
        return self.jobs.get(job_id)


def make_store(root):
    return Store(root)
