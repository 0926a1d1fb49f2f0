"""Preflight: ``get_job`` never returns (a lock never released, a mount that never answers)."""

import threading


class Store:
    def __init__(self, root):
        self.jobs = {}

    def save_job(self, job_id, job):
        self.jobs[job_id] = dict(job)

    def get_job(self, job_id):
        threading.Event().wait()


def make_store(root):
    return Store(root)
