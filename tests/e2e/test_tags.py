"""TagResource, UntagResource, ListTagsForResource on thing groups and thing types."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of


def test_tag_untag_and_list(iot: Any, unique: str) -> None:
    arn = iot.create_thing_group(thingGroupName=f"g-{unique}", tags=[{"Key": "env", "Value": "dev"}])["thingGroupArn"]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "fw"}])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "fw"},
    ]
    iot.untag_resource(resourceArn=arn, tagKeys=["env", "absent"])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "owner", "Value": "fw"}]


def test_tags_of_a_deleted_resource_are_gone(iot: Any, unique: str) -> None:
    arn = iot.create_thing_group(thingGroupName=f"g-{unique}", tags=[{"Key": "k", "Value": "v"}])["thingGroupArn"]
    iot.delete_thing_group(thingGroupName=f"g-{unique}")
    iot.create_thing_group(thingGroupName=f"g-{unique}")
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tagging_unknown_or_untaggable_resources(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.tag_resource(resourceArn=f"arn:aws:iot:us-east-1:123456789012:thinggroup/nope-{unique}",
                         tags=[{"Key": "k", "Value": "v"}])
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    iot.create_thing(thingName=f"t-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.tag_resource(resourceArn=f"arn:aws:iot:us-east-1:123456789012:thing/t-{unique}",
                         tags=[{"Key": "k", "Value": "v"}])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        iot.list_tags_for_resource(resourceArn="arn:aws:iot:eu-west-1:999999999999:thinggroup/x")
    assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_tag_limits(iot: Any, unique: str) -> None:
    arn = iot.create_thing_group(thingGroupName=f"g-{unique}")["thingGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        iot.tag_resource(resourceArn=arn, tags=[{"Key": "aws:reserved", "Value": "v"}])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    iot.tag_resource(resourceArn=arn, tags=[{"Key": f"k{n}", "Value": "v"} for n in range(50)])
    with pytest.raises(ClientError) as excinfo:
        iot.tag_resource(resourceArn=arn, tags=[{"Key": "one-more", "Value": "v"}])
    assert error_of(excinfo) == ("LimitExceededException", 410)
    assert len(iot.list_tags_for_resource(resourceArn=arn)["tags"]) == 50
