"""The reference device agent: an OTA job from the Jobs API, a ranged download, signature checks, A/B slots.

The core (``agent.py``) knows no transport; ``http_jobs.py`` carries it over ``iot-jobs-data`` with boto3.
"""
