"""`send`'s samples: the object a type is about, signed so that the server's own check accepts it."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from webhook_server.dev import samples
from webhook_server.dev.workspace import new_secret
from webhook_server.endpoints import BUILT_IN

STRIPE_TYPES = {
    "payment_intent.succeeded": "payment_intent",
    "invoice.paid": "invoice",
    "invoice.payment_failed": "invoice",
    "customer.created": "customer",
    "customer.subscription.updated": "subscription",
    "charge.refunded": "charge",
    "checkout.session.completed": "checkout.session",
}


@pytest.mark.parametrize(("event_type", "object_name"), STRIPE_TYPES.items())
def test_a_stripe_event_carries_the_object_its_type_is_about(event_type: str, object_name: str) -> None:
    assert samples.stripe_event(event_type)["data"]["object"]["object"] == object_name
    assert samples.has_sample("stripe", event_type)


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("invoice.payment_failed", {"status": "open", "amount_paid": 0, "amount_remaining": 2000}),
        ("invoice.paid", {"status": "paid", "amount_paid": 2000, "amount_remaining": 0}),
        ("payment_intent.payment_failed", {"status": "requires_payment_method", "amount_received": 0}),
        ("payment_intent.succeeded", {"status": "succeeded", "amount_received": 2000}),
        ("charge.failed", {"status": "failed", "paid": False}),
        ("customer.subscription.deleted", {"status": "canceled"}),
    ],
)
def test_a_stripe_object_is_in_the_state_its_event_leaves_it(event_type: str, expected: dict) -> None:
    """The invoice.payment_failed sample was a paid invoice (status "paid", amount_paid 2000)."""
    carried = samples.stripe_event(event_type)["data"]["object"]
    assert {key: carried[key] for key in expected} == expected


@pytest.mark.parametrize("event_type", [name for name in samples.STRIPE_STATES if name.startswith("invoice.")])
def test_an_invoices_amounts_add_up_in_every_state(event_type: str) -> None:
    invoice = samples.stripe_event(event_type)["data"]["object"]
    assert invoice["amount_paid"] + invoice["amount_remaining"] == invoice["amount_due"]


@pytest.mark.parametrize(
    ("scheme", "event_type", "field"),
    [
        ("github", "push", "commits"),
        ("github", "pull_request", "pull_request"),
        ("shopify", "customers/create", "first_name"),
        ("shopify", "products/update", "variants"),
        ("shopify", "orders/paid", "line_items"),
    ],
)
def test_other_senders_samples_fit_the_type(scheme: str, event_type: str, field: str) -> None:
    secret = new_secret(scheme)
    sample = samples.signed_sample(scheme, secret, event_type)
    verified = BUILT_IN[scheme]((secret,)).verify(sample.body, Headers(sample.headers))
    assert (verified.event_id, verified.event_type) == (sample.event_id, event_type)
    assert f'"{field}"' in sample.body.decode()


def test_types_without_a_sample_are_told_apart() -> None:
    assert not samples.has_sample("stripe", "radar.early_fraud_warning.created")
    assert not samples.has_sample("shopify", "app/uninstalled")
    assert samples.has_sample("standard", "anything.at_all")  # no catalogue: the type is carried as given
    assert "invoice.*" in samples.types_help("stripe")
