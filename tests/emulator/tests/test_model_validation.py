"""Requests that break the AWS service models, refused as each service refuses them.

botocore's own client-side checks are off (`parameter_validation=False`), so every request reaches
the emulator as written here; the emulator's model validation (model_validation.py) answers with
the service's error code, HTTP status and wording, naming the member. For each service: every
kind of constraint its model has, and one valid request that still succeeds.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import urllib.request
import uuid
import zipfile

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def client(endpoint):
    made = {}

    def make(service):
        if service not in made:
            extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
            made[service] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(parameter_validation=False, retries={"max_attempts": 1}, s3=extra.get("s3")),
            )
        return made[service]

    return make


def _name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def refused(call, code, status=400, *words):
    """Runs `call`, expects AWS's refusal `code` with `status`, and every word in the message."""
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    message = response["Error"].get("Message", "")
    for word in words:
        assert word in message, message
    return message


# ---------------------------------------------------------------- Kinesis (json 1.1)


def test_kinesis(client):
    kinesis = client("kinesis")
    bad = "ValidationException"
    assert refused(lambda: kinesis.create_stream(ShardCount=1), bad, 400) == (
        "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"
    )
    refused(lambda: kinesis.create_stream(StreamName="s" * 129, ShardCount=1), bad, 400, "at 'streamName'", "Member must have length less than or equal to 128")
    refused(lambda: kinesis.list_streams(ExclusiveStartStreamName=""), bad, 400, "at 'exclusiveStartStreamName'", "Member must have length greater than or equal to 1")
    refused(lambda: kinesis.list_streams(Limit=0), bad, 400, "Value '0' at 'limit'", "Member must have value greater than or equal to 1")
    refused(lambda: kinesis.list_streams(Limit=10001), bad, 400, "at 'limit'", "Member must have value less than or equal to 10000")
    refused(
        lambda: kinesis.create_stream(StreamName=_name("s"), StreamModeDetails={"StreamMode": "SOMETIMES"}),
        bad,
        400,
        "Value 'SOMETIMES' at 'streamModeDetails.streamMode'",
        "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
    )
    refused(lambda: kinesis.create_stream(StreamName="no spaces!", ShardCount=1), bad, 400, "Value 'no spaces!' at 'streamName'", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    records = [{"Data": b"x", "PartitionKey": "p"}] * 501
    refused(lambda: kinesis.put_records(StreamName="s", Records=records), bad, 400, "at 'records'", "Member must have length less than or equal to 500")
    refused(lambda: kinesis.create_stream(StreamName=_name("s"), ShardCount=1, Tags={}), bad, 400, "at 'tags'", "Member must have length greater than or equal to 1")
    refused(lambda: kinesis.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": ""}]), bad, 400, "at 'records.1.member.partitionKey'")
    both = refused(lambda: kinesis.create_stream(StreamName="b" * 129 + "!", ShardCount=1), bad, 400)
    assert both.startswith("2 validation errors detected: ") and "; Value '" in both
    refused(lambda: kinesis.create_stream(StreamName=_name("s"), ShardCount="two"), "SerializationException", 400, "shardCount")

    name = _name("stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamName"] == name


# ---------------------------------------------------------------- SSM (json 1.1): the lease and the pending secret


def test_ssm(client):
    ssm = client("ssm")
    bad = "ValidationException"
    refused(lambda: ssm.put_parameter(Value="v", Type="String"), bad, 400, "Value null at 'name'", "Member must not be null")
    refused(lambda: ssm.put_parameter(Name="/cfrp/" + "n" * 2048, Value="v", Type="String"), bad, 400, "at 'name'", "Member must have length less than or equal to 2048")
    refused(lambda: ssm.put_parameter(Name="/cfrp/x/lease", Value="v", Type="Plain"), bad, 400, "Value 'Plain' at 'type'", "Member must satisfy enum value set")
    refused(lambda: ssm.get_parameter(), bad, 400, "Value null at 'name'")
    refused(lambda: ssm.delete_parameter(Name=""), bad, 400, "at 'name'", "Member must have length greater than or equal to 1")

    name = f"/cfrp/{_name('stack')}/lease"
    assert ssm.put_parameter(Name=name, Value="{}", Type="String")["Version"] == 1
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "{}"


# ---------------------------------------------------------------- DynamoDB (json 1.0)


def test_dynamodb(client):
    ddb = client("dynamodb")
    bad = "ValidationException"
    # TableName is the model's TableArn (a name or an ARN): 1 to 1024 characters.
    refused(lambda: ddb.describe_table(TableName=""), bad, 400, "at 'tableName'", "Member must have length greater than or equal to 1")
    refused(lambda: ddb.query(TableName="t" * 1025, KeyConditionExpression="pk = :p"), bad, 400, "at 'tableName'", "Member must have length less than or equal to 1024")
    refused(lambda: ddb.put_item(TableName="cfrp-x-blocks"), bad, 400, "Value null at 'item'", "Member must not be null")
    writes = [{"PutRequest": {"Item": {"pk": {"S": "strike#0"}, "sk": {"S": f"203.0.113.{i}"}}}} for i in range(26)]
    refused(lambda: ddb.batch_write_item(RequestItems={"cfrp-x-blocks": writes}), bad, 400, "at 'requestItems", "less than or equal to 25")

    name = _name("cfrp-blocks")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.batch_write_item(RequestItems={name: writes[:25]})
    items = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "strike#0"}}, ConsistentRead=True)["Items"]
    assert len(items) == 25
    # Two writes of one key in a batch: DynamoDB refuses the whole call (moto does too).
    refused(lambda: ddb.batch_write_item(RequestItems={name: [writes[0], writes[0]]}), bad, 400, "duplicates")


# ---------------------------------------------------------------- CloudWatch Logs (json 1.1)


def test_cloudwatch_logs(client):
    logs = client("logs")
    bad = "InvalidParameterException"
    refused(lambda: logs.create_log_group(), bad, 400, "Value null at 'logGroupName'", "Member must not be null")
    refused(lambda: logs.create_log_group(logGroupName="g" * 513), bad, 400, "at 'logGroupName'", "less than or equal to 512")
    assert refused(lambda: logs.describe_log_groups(logGroupNamePrefix=""), bad, 400) == (
        "2 validation errors detected: Value '' at 'logGroupNamePrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; "
        "Value '' at 'logGroupNamePrefix' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )
    refused(lambda: logs.describe_log_groups(limit=51), bad, 400, "Value '51' at 'limit'", "Member must have value less than or equal to 50")
    refused(lambda: logs.create_log_group(logGroupName=_name("g"), logGroupClass="HOT"), bad, 400, "at 'logGroupClass'", "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS")
    refused(lambda: logs.create_log_group(logGroupName="bad:name"), bad, 400, "Value 'bad:name' at 'logGroupName'", "regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
    refused(lambda: logs.describe_log_groups(logGroupIdentifiers=[f"g{i}" for i in range(51)]), bad, 400, "at 'logGroupIdentifiers'", "less than or equal to 50")
    refused(lambda: logs.describe_log_groups(logGroupIdentifiers=[]), bad, 400, "at 'logGroupIdentifiers'", "greater than or equal to 1")
    # A map key breaking the key shape is reported at the map, with the key shape's constraints.
    message = refused(lambda: logs.tag_resource(resourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g", tags={"bad;key": "v"}), bad, 400, "at 'tags'")
    assert "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern" in message
    refused(lambda: logs.describe_log_groups(limit="ten"), "SerializationException", 400, "limit")

    name = _name("/cfrp/group")
    logs.create_log_group(logGroupName=name)
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]] == [name]


# ---------------------------------------------------------------- EventBridge (json 1.1)


def test_eventbridge(client):
    events = client("events")
    bad = "ValidationException"
    refused(lambda: events.put_rule(ScheduleExpression="rate(5 minutes)"), bad, 400, "Value null at 'name'")
    refused(lambda: events.put_rule(Name="r" * 65, ScheduleExpression="rate(5 minutes)"), bad, 400, "at 'name'", "less than or equal to 64")
    refused(lambda: events.list_rules(NamePrefix=""), bad, 400, "at 'namePrefix'", "greater than or equal to 1")
    refused(lambda: events.list_rules(Limit=0), bad, 400, "at 'limit'", "Member must have value greater than or equal to 1")
    refused(lambda: events.put_rule(Name=_name("r"), ScheduleExpression="rate(5 minutes)", State="ON"), bad, 400, "Value 'ON' at 'state'", "enum value set: [ENABLED, DISABLED")
    refused(lambda: events.put_rule(Name="no spaces", ScheduleExpression="rate(5 minutes)"), bad, 400, "at 'name'", "regular expression pattern")
    targets = [{"Id": f"t{i}", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"} for i in range(101)]
    refused(lambda: events.put_targets(Rule="r", Targets=targets), bad, 400, "at 'targets'", "less than or equal to 100")
    refused(lambda: events.put_targets(Rule="r", Targets=[{"Id": "t"}]), bad, 400, "Value null at 'targets.1.member.arn'")
    refused(lambda: events.list_rules(Limit="ten"), "SerializationException", 400, "limit")

    name = _name("rule")
    assert events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")["RuleArn"].endswith(f"rule/{name}")


# ---------------------------------------------------------------- Lambda (rest-json)


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


def test_lambda(client):
    lambda_ = client("lambda")
    bad = "ValidationException"
    role = f"arn:aws:iam::{ACCOUNT}:role/fn"
    spec = dict(FunctionName=_name("fn"), Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": _zip()})

    def create(**changes):
        return lambda: lambda_.create_function(**{**spec, **changes})

    no_role = {k: v for k, v in spec.items() if k != "Role"}
    refused(lambda: lambda_.create_function(**no_role), bad, 400, "Value null at 'role'", "Member must not be null")
    refused(create(Description="d" * 257), bad, 400, "at 'description'", "Member must have length less than or equal to 256")
    refused(create(FunctionName=""), bad, 400, "Value '' at 'functionName'", "Member must have length greater than or equal to 1")
    refused(create(Timeout=0), bad, 400, "Value '0' at 'timeout'", "Member must have value greater than or equal to 1")
    refused(create(MemorySize=32769), bad, 400, "at 'memorySize'", "less than or equal to 32768")
    refused(create(Runtime="python9"), bad, 400, "Value 'python9' at 'runtime'", "Member must satisfy enum value set: [nodejs")
    refused(create(Role="not-a-role"), bad, 400, "Value 'not-a-role' at 'role'", "Member must satisfy regular expression pattern: arn:")
    refused(create(Architectures=["x86_64", "arm64"]), bad, 400, "at 'architectures'", "Member must have length less than or equal to 1")
    refused(
        create(Architectures=["sparc"]),
        bad,
        400,
        "Value '[sparc]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
    )
    refused(lambda: lambda_.list_functions(MaxItems=0), bad, 400, "at 'maxItems'", "greater than or equal to 1")
    refused(lambda: lambda_.get_function(FunctionName="no spaces!"), bad, 400, "Value 'no spaces!' at 'functionName'", "regular expression pattern")
    refused(create(Timeout="soon"), "InvalidRequestContentException", 400, "timeout")

    lambda_.list_functions()


# ---------------------------------------------------------------- IAM (query)


def test_iam(client):
    iam = client("iam")
    bad = "ValidationError"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    refused(lambda: iam.create_role(RoleName=_name("r")), bad, 400, "Value null at 'assumeRolePolicyDocument'", "Member must not be null")
    refused(lambda: iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=policy), bad, 400, "at 'roleName'", "less than or equal to 64")
    refused(lambda: iam.list_roles(PathPrefix=""), bad, 400, "at 'pathPrefix'", "greater than or equal to 1")
    refused(lambda: iam.list_roles(MaxItems=1001), bad, 400, "Value '1001' at 'maxItems'", "Member must have value less than or equal to 1000")
    refused(lambda: iam.list_policies(Scope="Mine"), bad, 400, "Value 'Mine' at 'scope'", "Member must satisfy enum value set: [All, AWS, Local]")
    refused(lambda: iam.create_role(RoleName="no spaces", AssumeRolePolicyDocument=policy), bad, 400, "at 'roleName'", "regular expression pattern: [\\w+=,.@-]+")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    refused(lambda: iam.create_role(RoleName=_name("r"), AssumeRolePolicyDocument=policy, Tags=tags), bad, 400, "at 'tags'", "less than or equal to 50")
    refused(
        lambda: iam.create_role(RoleName=_name("r"), AssumeRolePolicyDocument=policy, Tags=[{"Key": "k", "Value": "semi;colon"}]),
        bad,
        400,
        "Value 'semi;colon' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
    )
    # Java's \w is ASCII: IAM refuses a role name with an accented letter.
    refused(lambda: iam.create_role(RoleName="r\u00f4le", AssumeRolePolicyDocument=policy), bad, 400, "at 'roleName'")
    refused(lambda: iam.list_roles(MaxItems="many"), "InvalidParameterValue", 400, "MaxItems")

    name = _name("role")
    assert iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy, Tags=[{"Key": "team", "Value": "caf\u00e9 ops"}])["Role"]["RoleName"] == name


# ---------------------------------------------------------------- STS (query)


def test_sts(client):
    sts = client("sts")
    bad = "ValidationError"
    role = f"arn:aws:iam::{ACCOUNT}:role/sts-role"
    refused(lambda: sts.assume_role(RoleArn=role), bad, 400, "Value null at 'roleSessionName'")
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s" * 65), bad, 400, "at 'roleSessionName'", "less than or equal to 64")
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s"), bad, 400, "Value 's' at 'roleSessionName'", "greater than or equal to 2")
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="ok", DurationSeconds=100), bad, 400, "Value '100' at 'durationSeconds'", "greater than or equal to 900")
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="no spaces"), bad, 400, "at 'roleSessionName'", "regular expression pattern: [\\w+=,.@-]*")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="ok", Tags=tags), bad, 400, "at 'tags'", "less than or equal to 50")
    refused(lambda: sts.assume_role(RoleArn=role, RoleSessionName="ok", DurationSeconds="long"), "InvalidParameterValue", 400, "DurationSeconds")
    # Unsigned (as botocore sends it): the query protocol's Version= names the API.
    refused(lambda: sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="ok"), bad, 400, "Value null at 'webIdentityToken'")

    assert sts.get_caller_identity()["Account"] == ACCOUNT


# ---------------------------------------------------------------- SNS (query)


def test_sns(client):
    sns = client("sns")
    bad = "InvalidParameter"
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:t"
    assert refused(lambda: sns.create_topic(), bad, 400) == "Invalid parameter: Name Reason: no value for required parameter"
    refused(lambda: sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 129, "Value": "v"}]), bad, 400, "Invalid parameter: Tags.member.1.Key", "less than or equal to 128")
    refused(lambda: sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "", "Value": "v"}]), bad, 400, "Tags.member.1.Key", "greater than or equal to 1")
    refused(lambda: sns.list_origination_numbers(MaxResults=31), bad, 400, "Invalid parameter: MaxResults", "less than or equal to 30")
    refused(lambda: sns.create_sms_sandbox_phone_number(PhoneNumber="+12065550100", LanguageCode="xx-XX"), bad, 400, "Invalid parameter: LanguageCode", "enum value set")
    refused(lambda: sns.create_sms_sandbox_phone_number(PhoneNumber="12ab"), bad, 400, "Invalid parameter: PhoneNumber", "regular expression pattern")
    refused(lambda: sns.list_origination_numbers(MaxResults="few"), "InvalidParameterValue", 400, "MaxResults")

    assert sns.create_topic(Name=_name("topic"))["TopicArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:")


# ---------------------------------------------------------------- SQS (json 1.0, query-compatible)


def test_sqs(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=_name("queue"))["QueueUrl"]
    assert refused(lambda: sqs.get_queue_url(), "MissingParameter", 400) == "The request must contain the parameter QueueName."
    refused(lambda: sqs.send_message(QueueUrl=url), "MissingParameter", 400, "MessageBody")
    assert refused(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Colour"]), "InvalidAttributeName", 400) == "Unknown Attribute Colour."
    refused(lambda: sqs.create_queue(QueueName=_name("queue"), Attributes={"Colour": "blue"}), "InvalidAttributeName", 400, "Colour")
    refused(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages="ten"), "SerializationException", 400, "maxNumberOfMessages")

    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"


# ---------------------------------------------------------------- CloudWatch (RPCv2 CBOR, json 1.0, query)


def _datum(**changes):
    return {"MetricName": "Requests", "Value": 1.0, "Timestamp": dt.datetime.now(dt.timezone.utc), **changes}


def test_cloudwatch(client):
    cloudwatch = client("cloudwatch")
    assert cloudwatch.meta.service_model.protocol == "smithy-rpc-v2-cbor"
    bad = "InvalidParameterValue"
    now = dt.datetime.now(dt.timezone.utc)
    stats = dict(Namespace="Test", MetricName="m", StartTime=now - dt.timedelta(hours=1), EndTime=now, Period=60, Statistics=["Sum"])
    assert refused(lambda: cloudwatch.put_metric_data(MetricData=[_datum()]), "MissingParameter", 400) == "The parameter Namespace is required."
    refused(lambda: cloudwatch.put_metric_data(Namespace="Test", MetricData=[{"Value": 1.0}]), "MissingParameter", 400, "The parameter MetricData.member.1.MetricName is required.")
    assert refused(lambda: cloudwatch.put_metric_data(Namespace="n" * 256, MetricData=[_datum()]), bad, 400) == "The parameter Namespace must be shorter than 256 characters."
    refused(lambda: cloudwatch.put_metric_data(Namespace="", MetricData=[_datum()]), bad, 400, "The parameter Namespace must be longer than 0 characters.")
    refused(lambda: cloudwatch.get_metric_statistics(**{**stats, "Period": 0}), bad, 400, "The parameter Period must be greater than or equal to 1.")
    refused(lambda: cloudwatch.describe_alarms(MaxRecords=101), bad, 400, "The parameter MaxRecords must be less than or equal to 100.")
    refused(
        lambda: cloudwatch.put_metric_data(Namespace="Test", MetricData=[_datum(Unit="Furlongs")]),
        bad,
        400,
        "The parameter MetricData.member.1.Unit must be a value in the set [ Seconds, Microseconds,",
    )
    refused(
        lambda: cloudwatch.get_metric_statistics(**{**stats, "Statistics": ["Median"]}),
        bad,
        400,
        "The parameter Statistics.member.1 must be a value in the set [ SampleCount, Average, Sum, Minimum, Maximum ].",
    )
    refused(lambda: cloudwatch.put_metric_data(Namespace=":Test", MetricData=[_datum()]), bad, 400, "The parameter Namespace must match the pattern [^:].*")
    dimensions = [{"Name": f"d{i}", "Value": "v"} for i in range(11)]
    refused(lambda: cloudwatch.list_metrics(Dimensions=dimensions), bad, 400, "The collection Dimensions must not have a size greater than 10.")
    refused(lambda: cloudwatch.get_metric_statistics(**{**stats, "Statistics": []}), bad, 400, "The collection Statistics must not have a size less than 1.")
    refused(lambda: cloudwatch.put_metric_data(Namespace="Test", MetricData=[_datum(StorageResolution="one")]), "SerializationException", 400, "storageResolution")

    cloudwatch.put_metric_data(Namespace=_name("Test"), MetricData=[_datum(Unit="Count", Dimensions=[{"Name": "Site", "Value": "example.org"}])])


def _signed(endpoint, target_or_action, body, content_type, signing_name):
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={"Content-Type": content_type})
    if target_or_action.startswith("GraniteServiceVersion20100801."):
        request.headers["X-Amz-Target"] = target_or_action
    SigV4Auth(Credentials("testing", "testing"), signing_name, REGION).add_auth(request)
    prepared = urllib.request.Request(endpoint + "/", data=body, headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_cloudwatch_over_query_and_json(endpoint):
    # The Query protocol: an empty value counts as absent, as CloudWatch answers
    # "The parameter MetricData.member.1.Dimensions.member.1.Value is required." for `Value=`.
    form = "Action=PutMetricData&Version=2010-08-01&Namespace=Test&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1&MetricData.member.1.Dimensions.member.1.Name=d&MetricData.member.1.Dimensions.member.1.Value="
    status, headers, body = _signed(endpoint, "PutMetricData", form.encode(), "application/x-www-form-urlencoded", "monitoring")
    assert status == 400
    assert b"<Code>MissingParameter</Code>" in body
    assert b"The parameter MetricData.member.1.Dimensions.member.1.Value is required." in body
    assert b'<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">' in body

    form = "Action=ListMetrics&Version=2010-08-01&RecentlyActive=PT1H"
    status, _, body = _signed(endpoint, "ListMetrics", form.encode(), "application/x-www-form-urlencoded", "monitoring")
    assert status == 400 and b"<Code>InvalidParameterValue</Code>" in body and b"RecentlyActive must be a value in the set [ PT3H ]" in body

    document = json.dumps({"Namespace": "Test", "MetricData": [{"MetricName": "m", "Value": 1, "StorageResolution": 0}]}).encode()
    status, headers, body = _signed(endpoint, "GraniteServiceVersion20100801.PutMetricData", document, "application/x-amz-json-1.0", "monitoring")
    assert status == 400
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    answer = json.loads(body)
    assert answer["__type"] == "com.amazonaws.cloudwatch#InvalidParameterValueException"
    assert answer["message"] == "The parameter MetricData.member.1.StorageResolution must be greater than or equal to 1."

    form = "Action=ListMetrics&Version=2010-08-01&Namespace=Test"
    status, _, body = _signed(endpoint, "ListMetrics", form.encode(), "application/x-www-form-urlencoded", "monitoring")
    assert status == 200, body


# ---------------------------------------------------------------- S3 (rest-xml)


def test_s3(client):
    s3 = client("s3")
    bucket = _name("bucket")
    s3.create_bucket(Bucket=bucket)

    def argument(call, name, *words):
        with pytest.raises(ClientError) as err:
            call()
        response = err.value.response
        assert response["Error"]["Code"] == "InvalidArgument", response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["Error"]["ArgumentName"] == name
        for word in words:
            assert word in response["Error"]["Message"]
        return response

    argument(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="everyone"), "x-amz-acl", "Member must satisfy enum value set: [private, public-read")
    argument(lambda: s3.list_buckets(MaxBuckets=0), "max-buckets", "Member must have value greater than or equal to 1")
    argument(lambda: s3.copy_object(Bucket=bucket, Key="k2", CopySource="no-slash"), "x-amz-copy-source", "regular expression pattern")
    argument(lambda: s3.create_bucket(Bucket=_name("bucket"), ObjectLockEnabledForBucket="maybe"), "x-amz-bucket-object-lock-enabled", "boolean")

    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    malformed = "MalformedXML"
    message = refused(lambda: s3.put_bucket_notification_configuration(Bucket=bucket), malformed, 400, "NotificationConfiguration")
    assert message.startswith("The XML you provided was not well-formed or did not validate against our published schema")
    refused(
        lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectEaten"]}]}),
        malformed,
        400,
        "Event",
        "enum value set",
    )
    refused(
        lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"Events": ["s3:ObjectCreated:*"]}]}),
        malformed,
        400,
        "Queue",
        "Member must not be null",
    )
    with pytest.raises(ClientError) as err:  # HEAD: the status only, as S3 answers a HEAD
        s3.head_object(Bucket=bucket, Key="k", ChecksumMode="SOMETIMES")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    s3.put_object(Bucket=bucket, Key="a key/with spaces+plus", Body=b"hello", ContentType="text/plain")
    assert s3.get_object(Bucket=bucket, Key="a key/with spaces+plus")["Body"].read() == b"hello"
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a key/with spaces+plus"})
    rules = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".txt"}]}}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectCreated:*"], "Filter": rules}]})
    refused(
        lambda: s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "infix", "Value": "x"}]}}}]}
        ),
        malformed,
        400,
        "Name",
    )


# ---------------------------------------------------------------- CloudFront (rest-xml)


def _distribution(**behaviour):
    return {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.org", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", **behaviour},
    }


def test_cloudfront(client):
    cloudfront = client("cloudfront")
    bad = "MalformedXML"
    config = _distribution()
    del config["Enabled"]
    assert refused(lambda: cloudfront.create_distribution(DistributionConfig=config), bad, 400) == (
        "1 validation error detected: Value null at 'distributionConfig.enabled' failed to satisfy constraint: Member must not be null"
    )
    refused(
        lambda: cloudfront.create_distribution(DistributionConfig=_distribution(ViewerProtocolPolicy="sometimes")),
        bad,
        400,
        "Value 'sometimes' at 'distributionConfig.defaultCacheBehavior.viewerProtocolPolicy' failed to satisfy constraint: Member must satisfy enum value set: [allow-all, https-only, redirect-to-https]",
    )
    config = _distribution()
    config["Origins"] = {"Quantity": 0, "Items": []}
    refused(lambda: cloudfront.create_distribution(DistributionConfig=config), bad, 400, "at 'distributionConfig.origins.items'", "Member must have length greater than or equal to 1")
    function = {"Comment": "", "Runtime": "cloudfront-js-2.0"}
    code = b"function handler(event) { return event.request; }"
    refused(lambda: cloudfront.create_function(Name="f" * 65, FunctionConfig=function, FunctionCode=code), bad, 400, "at 'name'", "Member must have length less than or equal to 64")
    refused(lambda: cloudfront.create_function(Name="no spaces", FunctionConfig=function, FunctionCode=code), bad, 400, "at 'name'", "regular expression pattern: [a-zA-Z0-9-_]{1,64}")
    refused(lambda: cloudfront.create_function(Name=_name("f"), FunctionConfig=function, FunctionCode=b""), bad, 400, "at 'functionCode'", "Member must have length greater than or equal to 1")
    refused(lambda: cloudfront.create_function(Name=_name("f"), FunctionConfig=function, FunctionCode=b"x" * 40961), bad, 400, "at 'functionCode'", "less than or equal to 40960")
    refused(lambda: cloudfront.create_function(Name=_name("f"), FunctionConfig={**function, "Runtime": "cloudfront-js-9"}, FunctionCode=code), bad, 400, "at 'functionConfig.runtime'")
    refused(lambda: cloudfront.list_conflicting_aliases(DistributionId="E1", Alias="a.example.org", MaxItems=101), bad, 400, "at 'maxItems'", "Member must have value less than or equal to 100")
    timing = {"Name": _name("rhp"), "ServerTimingHeadersConfig": {"Enabled": True, "SamplingRate": 100.5}}
    refused(
        lambda: cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=timing),
        bad,
        400,
        "Value '100.5' at 'responseHeadersPolicyConfig.serverTimingHeadersConfig.samplingRate'",
        "Member must have value less than or equal to 100.0",
    )
    config = _distribution()
    members = [{"OriginId": f"o{i}"} for i in range(3)]
    failover = {"StatusCodes": {"Quantity": 1, "Items": [503]}}
    config["OriginGroups"] = {"Quantity": 1, "Items": [{"Id": "g", "FailoverCriteria": failover, "Members": {"Quantity": 3, "Items": members}}]}
    refused(lambda: cloudfront.create_distribution(DistributionConfig=config), bad, 400, "at 'distributionConfig.originGroups.items.1.member.members.items'", "Member must have length less than or equal to 2")
    refused(lambda: cloudfront.create_distribution(DistributionConfig=_distribution(MinTTL="soon")), "MalformedInput", 400, "minTTL")

    created = cloudfront.create_distribution(DistributionConfig=_distribution())
    assert created["Distribution"]["DistributionConfig"]["Enabled"] is True


# ---------------------------------------------------------------- pass-through, the switch, patterns


def test_what_the_model_does_not_cover_passes_and_is_reported(endpoint):
    # An action the model does not have goes to moto unchanged (moto answers it as it does).
    status, _, body = _signed(endpoint, "Nonsense", b"Action=Nonsense&Version=2010-08-01", "application/x-www-form-urlencoded", "monitoring")
    assert b"validation error" not in body and b"MissingParameter" not in body
    # The emulator's own control endpoints are not AWS requests.
    with urllib.request.urlopen(endpoint + "/_cfrp/model-validation", timeout=10) as answer:
        report = json.loads(answer.read())
    assert report["enabled"] is True
    assert report["refused"] > 0
    assert report["untranslatable_patterns"] == []
    assert "cloudwatch.Nonsense" in report["unparsed"]


def _kinesis_environ(stream_name):
    body = json.dumps({"StreamName": stream_name, "ShardCount": 1}).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_AMZ_TARGET": "Kinesis_20131202.CreateStream",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
        "wsgi.input": io.BytesIO(body),
    }


def test_the_switch_turns_the_check_off_and_the_body_is_put_back(monkeypatch):
    from cfrp_emulator import model_validation

    environ = _kinesis_environ("no spaces!")
    status, headers, body = model_validation.check(environ)
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"
    assert json.loads(environ["wsgi.input"].read())["StreamName"] == "no spaces!"  # still readable downstream

    monkeypatch.setenv("CFRP_EMULATOR_MODEL_VALIDATION", "0")
    assert model_validation.check(_kinesis_environ("no spaces!")) is None
    monkeypatch.setenv("CFRP_EMULATOR_MODEL_VALIDATION", "1")
    assert model_validation.check(_kinesis_environ("fine")) is None


def test_s3_a_string_payload_is_its_member(client):
    # PutBucketPolicy's required Policy is the request's whole body: a body is the member,
    # and S3 answers the policy back; without one, the member is missing.
    s3 = client("s3")
    bucket = _name("policy")
    s3.create_bucket(Bucket=bucket)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    refused(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=""), "MalformedXML", 400, "Policy")


def test_s3_filter_rule_names_in_any_case():
    # S3 answers filter rule names as "Prefix" / "Suffix" and takes its answer back: the model's
    # "prefix" / "suffix" are not the only spelling it accepts. (moto itself still asserts the
    # lower-case names, so this is checked here and not through the server.)
    from cfrp_emulator import model_validation

    shape = model_validation.service_model("s3").shape_for("FilterRule")
    found = []
    model_validation._validate({"Name": "Prefix", "Value": "in/"}, shape, (), found, "rest-xml")
    assert found == []
    model_validation._validate({"Name": "infix", "Value": "in/"}, shape, (), found, "rest-xml")
    assert [v.kind for v in found] == ["enum"]


@pytest.mark.parametrize(
    "pattern, accepted, refused_value",
    [
        # \p{..}: Unicode categories, which Python's re lacks.
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", "caf\u00e9 42", "semi;colon"),
        ("[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Zs}]+", "a b!", "tab\there"),
        # Java's \w is ASCII.
        ("[\\w+=,.@-]+", "role+name", "r\u00f4le"),
        # Java takes the '-' after \w in a class literally; Python's re refuses the range.
        ("[\\w-_]*", "a-b_c", "a.b"),
        # Java's '.' excludes line terminators; the pattern must match the whole value.
        ("[^:].*", "Namespace", "a\nb"),
        ("[a-zA-Z0-9_.-]+", "stream-1", "stream 1"),
    ],
)
def test_java_patterns(pattern, accepted, refused_value):
    from cfrp_emulator import model_validation

    regex = model_validation.compiled(pattern)
    assert regex is not None
    assert regex.fullmatch(accepted)
    assert not regex.fullmatch(refused_value)


def test_every_pattern_of_the_eleven_models_compiles():
    from cfrp_emulator import model_validation

    patterns = set()
    for service in model_validation.SERVICES:
        model = model_validation.service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                patterns.add(pattern)
    assert len(patterns) > 150
    assert [p for p in patterns if model_validation.compiled(p) is None] == []
