"""kapi-twisted: a Kubernetes API server on Twisted."""

from setuptools import find_packages, setup

setup(
    name="kapi-twisted",
    version="0.1.0",
    description="A Kubernetes API server on Twisted: embeddable, pip-installable, "
    "durable on SQLite by default, scaling out on etcd.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(exclude=["tests", "tests.*", "bench", "tools"]) + ["twisted.plugins"],
    package_data={"kapi_twisted": ["**/*.json", "**/*.json.gz", "**/*.sql"]},
    include_package_data=True,
    install_requires=[
        "twisted[tls,http2]>=26.4",
        "pyopenssl>=24.3",
        "service-identity>=23.1",
        "h2>=4.1",
        "hpack>=4.0",
        "treq>=23.11",
        "cryptography>=45",
        "prometheus_client>=0.17",
        "PyYAML>=6.0",
        "cel-python>=0.5",
    ],
    extras_require={
        "test": [
            "kubernetes>=29",
            "kopf>=1.37",
        ],
    },
    zip_safe=False,
)
