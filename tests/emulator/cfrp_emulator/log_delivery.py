"""CloudWatch Logs log delivery (vended logs: CloudFront's standard access logs v2), the checks
moto 5.2.5 lacks, each from the CloudWatch Logs API reference or the CloudFront developer guide.

moto keeps delivery sources, destinations and deliveries, refuses an unknown service or log
type for a source, a second delivery of the same source/destination pair (ConflictException)
and a new output format for an existing destination. What it lets through and AWS does not:

- DeleteDeliverySource and DeleteDeliveryDestination while a delivery uses the source or the
  destination ("You can't delete a delivery source/destination if any current deliveries are
  associated with it"): ConflictException, so the delivery must go first.
- A CloudFront delivery source outside us-east-1: CloudFront publishes its logs there only
  ("you must create the delivery source in US East (N. Virginia)"); ValidationException.
- CreateDelivery with record fields CloudFront's access logs do not carry, or with a
  destination in `parquet` format that is not S3 (Parquet is an S3-only output format for
  CloudFront's standard logs): ValidationException.

The wording of these three refusals is the emulator's; AWS's codes are those named above.
"""

from __future__ import annotations

from typing import Any

from .fields import STANDARD_LOG_FIELDS


def apply() -> None:
    from moto.logs import models
    from moto.logs.exceptions import ConflictException, ValidationException

    backend = models.LogsBackend
    put_source = backend.put_delivery_source
    create_delivery = backend.create_delivery
    delete_source = backend.delete_delivery_source
    delete_destination = backend.delete_delivery_destination

    def put_delivery_source(self: Any, name: str, resource_arn: str, log_type: str, tags: dict[str, str]) -> Any:
        if resource_arn.split(":")[2:3] == ["cloudfront"] and self.region_name != "us-east-1":
            raise ValidationException(
                f"CloudFront delivery sources must be created in us-east-1, not {self.region_name}."
            )
        return put_source(self, name, resource_arn, log_type, tags)

    def create_checked(
        self: Any,
        delivery_source_name: str,
        delivery_destination_arn: str,
        record_fields: list[str] | None,
        field_delimiter: str | None,
        s3_delivery_configuration: dict[str, Any] | None,
        tags: dict[str, str] | None,
    ) -> Any:
        source = self.delivery_sources.get(delivery_source_name)
        if source is not None and source.service == "cloudfront" and source.log_type == "ACCESS_LOGS":
            unknown = [f for f in record_fields or [] if f not in STANDARD_LOG_FIELDS]
            if unknown:
                raise ValidationException(
                    f"Record fields {unknown} are not allowed for the log type ACCESS_LOGS of the service cloudfront."
                )
            destination = next(
                (d for d in self.delivery_destinations.values() if d.arn == delivery_destination_arn),
                None,
            )
            if destination is not None and destination.output_format == "parquet" and destination.delivery_destination_type != "S3":
                raise ValidationException(
                    f"The output format parquet is not supported for the destination type {destination.delivery_destination_type}."
                )
        return create_delivery(
            self, delivery_source_name, delivery_destination_arn, record_fields, field_delimiter, s3_delivery_configuration, tags
        )

    def delete_source_checked(self: Any, name: str) -> None:
        if any(d.delivery_source_name == name for d in self.deliveries.values()):
            raise ConflictException(
                f"Delivery Source {name} is used by a delivery; delete the delivery before its source."
            )
        return delete_source(self, name)

    def delete_destination_checked(self: Any, name: str) -> None:
        destination = self.delivery_destinations.get(name)
        if destination is not None and any(d.delivery_destination_arn == destination.arn for d in self.deliveries.values()):
            raise ConflictException(
                f"Delivery Destination {name} is used by a delivery; delete the delivery before its destination."
            )
        return delete_destination(self, name)

    backend.put_delivery_source = put_delivery_source
    backend.create_delivery = create_checked
    backend.delete_delivery_source = delete_source_checked
    backend.delete_delivery_destination = delete_destination_checked
