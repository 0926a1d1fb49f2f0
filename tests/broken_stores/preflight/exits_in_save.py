"""Preflight: ``save_job`` ends the process with ``os._exit(0)``, a "successful" exit code."""

import os


class Store:
    def __init__(self, root):
        pass

    def save_job(self, job_id, job):
        os._exit(0)

    def get_job(self, job_id):
        return None


def make_store(root):
    return Store(root)
