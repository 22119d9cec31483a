"""moto server extended with the CloudFront APIs and CloudWatch protocol the project needs."""
