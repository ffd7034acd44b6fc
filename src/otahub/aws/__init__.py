"""The AWS wire adapter: botocore service models drive routing, parsing, validation and output."""
