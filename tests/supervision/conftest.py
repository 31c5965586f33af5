from tests.workers.conftest import smtp  # noqa: F401 (a real SMTP server, aiosmtpd)
