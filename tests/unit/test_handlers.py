from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webhook_server.handlers import Event, HandlerSignatureError, Registration, Registry


def event(payload: dict) -> Event:
    return Event("stripe", "evt_1", "invoice.paid", payload, 1, datetime(2026, 1, 1, tzinfo=UTC), "stripe", {})


def test_an_exact_handler_wins_over_the_catch_all_of_its_scheme() -> None:
    registry = Registry()

    @registry.handles("stripe", "invoice.paid")
    def paid(event: Event) -> None: ...

    @registry.handles("stripe", "*")
    def everything_else(event: Event) -> None: ...

    assert registry.lookup("stripe", "invoice.paid") == Registration(paid)
    assert registry.lookup("stripe", "customer.created") == Registration(everything_else)
    assert registry.lookup("github", "push") is None  # skipped, not failed


def test_a_scheme_handler_covers_every_endpoint_and_an_endpoint_handler_narrows_it() -> None:
    registry = Registry()

    @registry.handles("stripe", "invoice.paid")
    def any_account(event: Event) -> None: ...

    @registry.handles("stripe", "invoice.paid", endpoint="stripe-eu")
    def eu_account(event: Event) -> None: ...

    @registry.handles("stripe", "*", endpoint="stripe-eu")
    def eu_rest(event: Event) -> None: ...

    assert registry.lookup("stripe", "invoice.paid", "stripe-eu") == Registration(eu_account)
    assert registry.lookup("stripe", "invoice.paid", "stripe-us") == Registration(any_account)
    assert registry.lookup("stripe", "invoice.paid", "stripe") == Registration(any_account)
    assert registry.lookup("stripe", "customer.created", "stripe-eu") == Registration(eu_rest)
    assert registry.lookup("stripe", "customer.created", "stripe-us") is None
    # The same type twice for one endpoint is a mistake; once per endpoint is not.
    with pytest.raises(HandlerSignatureError, match="at endpoint stripe-eu"):
        registry.handles("stripe", "invoice.paid", endpoint="stripe-eu")(lambda event: None)


@pytest.mark.parametrize(
    "handler",
    [lambda: None, lambda event, extra: None, lambda *, event: None],
    ids=["no argument", "two arguments", "keyword only"],
)
def test_a_handler_that_cannot_take_one_event_is_refused_at_registration(handler) -> None:
    with pytest.raises(HandlerSignatureError, match=r"cannot be called as handler\(event\)"):
        Registry().handles("stripe", "*")(handler)


@pytest.mark.parametrize("handler", [lambda event: None, lambda event, conn, extra: None], ids=["one", "three"])
def test_a_transactional_handler_must_take_the_event_and_a_connection(handler) -> None:
    with pytest.raises(HandlerSignatureError, match=r"make it def handler\(event, conn\)"):
        Registry().handles("stripe", "*", transactional=True)(handler)


def test_a_transactional_handler_is_registered_as_such() -> None:
    registry = Registry()

    def pay(event: Event, conn: object) -> None: ...

    registry.handles("stripe", "invoice.paid", transactional=True)(pay)
    assert registry.lookup("stripe", "invoice.paid") == Registration(pay, transactional=True)
    assert registry.describe() == [f"stripe invoice.paid → {__name__}.{pay.__qualname__} (transactional)"]


def test_async_handlers_and_two_handlers_for_one_type_are_refused() -> None:
    registry = Registry()

    async def coroutine(event: Event) -> None: ...

    with pytest.raises(HandlerSignatureError, match="async"):
        registry.handles("stripe", "*")(coroutine)
    registry.handles("stripe", "invoice.paid")(lambda event: None)
    with pytest.raises(HandlerSignatureError, match=r"both handle stripe 'invoice\.paid'"):
        registry.handles("stripe", "invoice.paid")(lambda event: None)


def test_handlers_with_defaults_or_varargs_are_fine() -> None:
    registry = Registry()
    registry.handles("a", "*")(lambda event, retries=3: None)
    registry.handles("b", "*")(lambda *args: None)
    assert len(registry) == 2


def test_created_is_the_senders_clock_when_the_payload_has_it() -> None:
    assert event({"created": 1700000000}).created == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert event({}).created is None
    assert event({"created": "yesterday"}).created is None


def test_a_handler_reading_the_old_name_of_the_scheme_gets_it_with_a_deprecation_warning() -> None:
    event = Event("stripe", "evt_1", "invoice.paid", {}, 1, datetime.now(UTC), "stripe", {})
    with pytest.warns(DeprecationWarning, match="use Event.scheme"):
        assert event.provider == "stripe"
