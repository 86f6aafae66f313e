"""The image, built once per run from the checkout, and containers of it removed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness.containers import Container, Images, build_image, containers


@pytest.fixture(scope="session")
def images() -> Images:
    return build_image()


@pytest.fixture
def start_container(images: Images) -> Iterator[Callable[..., Container]]:
    with containers(images.podman, images.image) as start:
        yield start
