"""
Kubernetes' built-in API types as data: the resource table (L{registry}), the OpenAPI
schemas (L{openapi}) and the protobuf wire format (L{protobuf}).

Only L{registry} is cheap to import; the schema and protobuf tables load on first use.

The data files here are derived from the Kubernetes project's published discovery
documents, OpenAPI definitions and C{generated.proto} files (Copyright The Kubernetes
Authors, Apache License 2.0) by the generators in C{tools/}: C{gen_resource_table.py},
C{gen_openapi_definitions.py} and C{gen_proto_table.py}.
"""
