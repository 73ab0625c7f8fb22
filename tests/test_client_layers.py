"""HeliosClient's lifecycle and views (``_client`` on ``_client_layers``): an owned session
opened on entry and closed on exit, a borrowed one left open, a closed client refusing calls,
``with_options`` views with their own policies on the parent's session, and what the repr
says of each."""

from __future__ import annotations

import aiohttp
import pytest

from helios_async import ClientClosedError, HeliosClient, RetryPolicy, TransientAPIError


@pytest.fixture
def account_url(base_url: str) -> str:
    return f"{base_url}/v1/account"


async def test_using_the_client_before_async_with_raises_client_closed(mock_api, api_key, base_url):
    client = HeliosClient(api_key, base_url=base_url)
    with pytest.raises(ClientClosedError, match="not open"):
        await client.get_account()
    assert mock_api.total_calls() == 0


async def test_using_the_client_after_close_raises_client_closed(
    mock_api, account_url, examples, api_key, base_url
):
    mock_api.get(account_url, payload=examples["account"], repeat=True)
    async with HeliosClient(api_key, base_url=base_url) as client:
        await client.get_account()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.get_account()
    with pytest.raises(ClientClosedError):
        await client.open()
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    await client.aclose()  # idempotent
    assert len(mock_api.calls("GET", account_url)) == 1
    assert "closed" in repr(client)


async def test_the_owned_session_is_closed_on_exit(
    mock_api, account_url, examples, api_key, base_url
):
    """The client opens its own session on entry and closes it (and its connections) on exit."""
    mock_api.get(account_url, payload=examples["account"])
    async with HeliosClient(api_key, base_url=base_url) as client:
        assert "owned session" in repr(client)
        await client.get_account()
        [session] = mock_api.sessions_used()
        assert isinstance(session, aiohttp.ClientSession)
        assert not session.closed
    assert session.closed


async def test_a_borrowed_session_is_used_and_left_open(
    mock_api, account_url, examples, api_key, base_url
):
    mock_api.get(account_url, payload=examples["account"])
    async with aiohttp.ClientSession() as session:
        async with HeliosClient(api_key, base_url=base_url, session=session) as client:
            assert "borrowed session" in repr(client)
            await client.get_account()
        assert not session.closed
    assert len(mock_api.calls("GET", account_url)) == 1


async def test_a_borrowed_session_closed_by_its_owner_raises_client_closed(
    mock_api, api_key, base_url
):
    session = aiohttp.ClientSession()
    client = HeliosClient(api_key, base_url=base_url, session=session)
    await session.close()
    with pytest.raises(ClientClosedError, match="session"):
        await client.get_account()
    await client.aclose()


# --- views ---------------------------------------------------------------------------------------


async def test_a_view_shares_the_session_but_uses_its_own_policies(
    mock_api, account_url, examples, api_key, base_url
):
    """``with_options`` gives other policies on the same session; closing it closes nothing."""
    mock_api.get(account_url, status=503)
    mock_api.get(account_url, payload=examples["account"], repeat=True)
    parent_retry = RetryPolicy(attempts=5)
    async with HeliosClient(api_key, base_url=base_url, retry=parent_retry) as client:
        view = client.with_options(retry=RetryPolicy.disabled())
        assert "view" in repr(view)
        assert api_key not in repr(view)
        assert view.retry.attempts == 1
        assert client.retry is parent_retry
        with pytest.raises(TransientAPIError):
            await view.get_account()  # not retried by the view
        await view.aclose()
        await client.get_account()  # the parent still works after the view closed
        first, second = mock_api.sessions_used()
        assert first is second
    with pytest.raises(ClientClosedError):
        await view.get_account()
