"""Tasks: schemas, the service both the REST API and the chat tools call, and routes."""
