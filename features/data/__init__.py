"""The data contract, the store and the importers of advocacy-recsys."""
