"""Build hook for the optional native SHA-256 level hasher.

Everything else lives in pyproject.toml. The extension is optional: when it cannot be
built (no C compiler or no OpenSSL headers), the pure-Python tree code is used and the
tree-speed bar is not met; `make bench` prints which hasher is active (`provenance.merkle.NATIVE`).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "provenance._sha256",
            sources=["provenance/_sha256.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-Wno-deprecated-declarations"],
            optional=True,
        )
    ]
)
