"""Preflight: a saved job comes back without the fields it was saved with."""


class Store:
    def __init__(self, root):
        self.jobs = {}

    def save_job(self, job_id, job):
        self.jobs[job_id] = {"status": job["status"]}

    def get_job(self, job_id):
        return self.jobs.get(job_id)


def make_store(root):
    return Store(root)
