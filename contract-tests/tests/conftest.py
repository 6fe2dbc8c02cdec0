import nova_common  # noqa: F401  (selects oslo.service's threading backend first)
