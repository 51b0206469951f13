"""A sample third-party Odibi plugin adding the ``luhn`` assertion type."""

__version__ = "0.1.0"
