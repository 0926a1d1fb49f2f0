"""Preflight: ``recover()`` raises even on a store with nothing to recover."""


class Store:
    def __init__(self, root):
        self.jobs = {}

    def save_job(self, job_id, job):
        self.jobs[job_id] = dict(job)

    def get_job(self, job_id):
        return self.jobs.get(job_id)

    def recover(self):
        raise OSError("recovery log is read-only")


def make_store(root):
    return Store(root)
