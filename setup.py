from setuptools import find_packages, setup

setup(
    name="scorm-player-server",
    version="0.1.0",
    description="A SCORM 1.2 and 2004 player server for LMSs, built for volume.",
    python_requires=">=3.11",
    packages=find_packages(include=["server*", "actors*", "scorm*", "storage*", "loadtests*"]),
    include_package_data=True,
    package_data={"server": ["static/*", "static/**/*", "templates/*"]},
    install_requires=[
        "tornado>=6.4",
        "lxml>=5.0",
        "msgpack>=1.0",
        "redis>=5.0",
        "pymongo>=4.10",
        "prometheus_client>=0.20",
    ],
    extras_require={
        "test": [
            "pytest>=8.0",
            "pytest-tornado>=0.8.1",
            "pytest-timeout>=2.3",
            "hypothesis>=6.100",
            "schemathesis>=4.0",
            "playwright>=1.45",
            "locust>=2.20",
        ],
    },
)
