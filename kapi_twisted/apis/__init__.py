"""
Kubernetes' built-in API types as data: the resource table (L{registry}), the OpenAPI
schemas (L{openapi}) and the protobuf wire format (L{protobuf}).

Only L{registry} is cheap to import; the schema and protobuf tables load on first use.
"""
