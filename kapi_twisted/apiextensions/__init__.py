"""
The APIExtensions server: CustomResourceDefinitions and the custom resources
they define.

C{kapi_twisted.apiextensions.schema} holds the structural-schema machinery
(validation, pruning, defaulting, CEL rules) applied to custom objects, and
C{kapi_twisted.apiextensions.validation} validates the CustomResourceDefinition
objects themselves. Both are pure functions over decoded JSON.
"""
