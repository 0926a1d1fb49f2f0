"""Preflight: the module imports a package that is not installed."""

import a_package_that_is_not_installed  # noqa: F401


def make_store(root):
    return None
