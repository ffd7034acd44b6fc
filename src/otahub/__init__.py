"""otahub: a self-hosted OTA firmware update service that speaks the AWS IoT APIs."""

__version__ = "0.1.0"
