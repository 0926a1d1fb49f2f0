"""Preflight: the factory raises (the database it connects to is down)."""


def make_store(root):
    raise RuntimeError("cannot connect to the job database")
