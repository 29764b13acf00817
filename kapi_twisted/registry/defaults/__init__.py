"""
Defaulting of built-in kinds, as kube-apiserver does it when it decodes a
request body (the C{SetDefaults_*} functions of pkg/apis/<group>/<version>,
their generated walks into nested structs, declarative C{+default} markers)
so that what a client reads back has the fields it has on a real cluster.

One function per group module; L{apply_defaults} picks by group, version
and kind. Everything works in place on a dict the caller owns.
"""

from ._dispatch import apply_defaults, defaulter_for

__all__ = ["apply_defaults", "defaulter_for"]
