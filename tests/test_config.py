"""Where the client talks to and with what key (helios-api.md §1.1, §1.2, D15)."""

from __future__ import annotations

import platform

import aiohttp
import pytest

from helios_async import HeliosClient, InvalidInputError, __version__
from helios_async._config import REGIONS, resolve_api_key, resolve_base_url, user_agent

KEY = "env-Key-7f3a9c2e"


# --- the key (D15) -----------------------------------------------------------------------------


def test_the_key_argument_beats_the_environment():
    """D15: an argument beats the environment."""
    assert resolve_api_key("arg-key", {"THYMIA_API_KEY": KEY}) == "arg-key"


def test_the_key_comes_from_thymia_api_key_when_no_argument_is_given():
    assert resolve_api_key(None, {"THYMIA_API_KEY": KEY}) == KEY


def test_the_key_is_read_from_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("THYMIA_API_KEY", KEY)
    assert resolve_api_key(None) == KEY


def test_surrounding_whitespace_is_stripped_from_the_key():
    assert resolve_api_key(f"  {KEY}\t", {}) == KEY


@pytest.mark.parametrize(
    ("argument", "environ"),
    [
        (None, {}),
        (None, {"THYMIA_API_KEY": ""}),
        (None, {"THYMIA_API_KEY": "   "}),
        ("", {"THYMIA_API_KEY": KEY}),
        ("  ", {}),
    ],
)
def test_no_usable_key_is_refused_with_a_message_that_says_how_to_give_one(argument, environ):
    """D15: the message names both ways to give a key, and shows no key."""
    with pytest.raises(InvalidInputError) as caught:
        resolve_api_key(argument, environ)
    assert caught.value.field == "api_key"
    message = str(caught.value)
    assert "api_key=" in message
    assert "THYMIA_API_KEY" in message
    assert KEY not in message


@pytest.mark.parametrize("key", [f"{KEY}\r\nX-Evil: 1", f"{KEY}\nrest", f"a\r{KEY}"])
def test_a_key_with_line_breaks_is_refused_without_echoing_it(key):
    """§1.2: a header value with CR/LF would split the request; the key is never echoed."""
    with pytest.raises(InvalidInputError) as caught:
        resolve_api_key(key, {})
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


def test_a_bad_key_from_the_environment_is_not_echoed_either():
    with pytest.raises(InvalidInputError) as caught:
        resolve_api_key(None, {"THYMIA_API_KEY": f"{KEY}\nrest"})
    assert KEY not in str(caught.value)


def test_a_trailing_newline_from_the_environment_is_stripped_not_sent():
    """A key read from a file often ends in a newline; only the key itself is sent."""
    assert resolve_api_key(None, {"THYMIA_API_KEY": f"{KEY}\n"}) == KEY


@pytest.mark.parametrize("key", [f"{KEY}\x00", f"{KEY}\u00e9", 12345])
def test_a_key_that_cannot_travel_in_a_header_is_refused_locally(key):
    """§1.2: the key is a header value: printable ASCII only, and a string."""
    with pytest.raises(InvalidInputError):
        resolve_api_key(key, {})


# --- the base URL (§1.1, D15) ------------------------------------------------------------------


def test_the_default_host_is_api_thymia_ai():
    """§1.1: default https://api.thymia.ai."""
    assert resolve_base_url(None, None, {}) == "https://api.thymia.ai"


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("default", "https://api.thymia.ai"),
        ("ca", "https://ca.api.thymia.ai"),
        ("us", "https://us.api.thymia.ai"),
        ("CA", "https://ca.api.thymia.ai"),
        ("Us", "https://us.api.thymia.ai"),
    ],
)
def test_regions_pick_the_regional_hosts(region, url):
    """§1.1: the regional hosts change only the root of the URL."""
    assert resolve_base_url(None, region, {}) == url


def test_the_regions_table_is_the_contract_s():
    assert dict(REGIONS) == {
        "default": "https://api.thymia.ai",
        "ca": "https://ca.api.thymia.ai",
        "us": "https://us.api.thymia.ai",
    }


@pytest.mark.parametrize("region", ["eu", "uk", "ca ", "api"])
def test_an_unknown_region_is_refused_naming_the_choices(region):
    with pytest.raises(InvalidInputError) as caught:
        resolve_base_url(None, region, {})
    assert caught.value.field == "region"
    assert "default, ca, us" in caught.value.rule


def test_an_unknown_region_from_the_environment_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        resolve_base_url(None, None, {"THYMIA_REGION": "mars"})
    assert caught.value.field == "region"
    assert "'mars'" in caught.value.rule


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://ca.api.thymia.ai/", "https://ca.api.thymia.ai"),
        ("https://sandbox.example///", "https://sandbox.example"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://gw.example/helios/", "https://gw.example/helios"),
    ],
)
def test_trailing_slashes_are_removed(given, expected):
    """§1.1: the old docs write the Canadian host with a trailing slash; paths must not
    become ``//v1/...``."""
    assert resolve_base_url(given, None, {}) == expected


@pytest.mark.parametrize("given", ["api.thymia.ai", "ftp://api.thymia.ai", "", "//api.thymia.ai"])
def test_a_base_url_that_is_not_http_is_refused(given):
    with pytest.raises(InvalidInputError) as caught:
        resolve_base_url(given, None, {})
    assert caught.value.field == "base_url"


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:99999",  # port out of range
        "http://api.thymia.ai:https",  # port not a number
        "http://[::1",  # IPv6 host without its closing bracket
        "http://",  # no host
        "https://",
        "https://api thymia.ai",  # whitespace
        "https://gw.example/helios?tenant=7",  # paths would be appended to the query
        "https://gw.example/helios#top",
        "https://gw.example?",
    ],
)
def test_a_malformed_base_url_is_refused_when_the_client_is_made(given):
    """A base URL the transport could not use is an InvalidInputError from the constructor,
    never a bare ValueError at the first request (nor a traceback from the command line)."""
    with pytest.raises(InvalidInputError) as caught:
        HeliosClient("key", base_url=given)
    assert caught.value.field == "base_url"
    with pytest.raises(InvalidInputError):
        resolve_base_url(None, None, {"THYMIA_BASE_URL": given})


@pytest.mark.parametrize(
    "given",
    ["https://me:s3cret-pw@gw.example:99999", "https://me:s3cret-pw@gw.example/x?tenant=7"],
)
def test_refusing_a_base_url_never_shows_its_user_or_password(given):
    """A base URL may carry credentials (they are kept); a refusal names the URL without them."""
    with pytest.raises(InvalidInputError) as caught:
        resolve_base_url(given, None, {})
    assert caught.value.field == "base_url"
    assert "s3cret-pw" not in str(caught.value)
    assert "me:" not in str(caught.value)
    assert "gw.example" in str(caught.value)


@pytest.mark.parametrize(
    "given",
    ["https://api.thymia.ai/v1", "https://api.thymia.ai/v1/", "https://gw.example/helios/V1"],
)
def test_a_base_url_ending_in_v1_is_refused_saying_to_drop_it(given):
    """Every path the client sends starts with /v1: a base URL ending in /v1 would send
    /v1/v1/... and meet 404s. Refused when the client is made, with the URL to use."""
    with pytest.raises(InvalidInputError, match="must not end with /v1") as caught:
        HeliosClient("key", base_url=given)
    assert caught.value.field == "base_url"
    assert "drop it" in str(caught.value)
    assert repr(given.rstrip("/")[:-3]) in str(caught.value)
    with pytest.raises(InvalidInputError, match="/v1"):
        resolve_base_url(None, None, {"THYMIA_BASE_URL": given})


def test_a_base_url_that_is_not_a_string_is_refused():
    with pytest.raises(InvalidInputError, match="must be a string"):
        resolve_base_url(b"https://api.thymia.ai", None, {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given",
    [
        "http://[::1]:8080",
        "https://gw.example/helios",
        "http://localhost:0",
        "https://gw.example/v1x",
        "https://gw.example/v1/helios",
    ],
)
def test_well_formed_base_urls_with_ports_ipv6_hosts_and_prefixes_are_kept(given):
    assert resolve_base_url(given, None, {}) == given


@pytest.mark.parametrize(
    ("base_url", "region", "environ", "expected"),
    [
        # an argument beats the environment
        (
            "https://arg.example",
            None,
            {"THYMIA_BASE_URL": "https://env.example"},
            "https://arg.example",
        ),
        (None, "us", {"THYMIA_BASE_URL": "https://env.example"}, "https://us.api.thymia.ai"),
        (None, "ca", {"THYMIA_REGION": "us"}, "https://ca.api.thymia.ai"),
        ("https://arg.example", None, {"THYMIA_REGION": "ca"}, "https://arg.example"),
        # the environment beats the default; its base URL beats its region
        (None, None, {"THYMIA_BASE_URL": "https://env.example/"}, "https://env.example"),
        (None, None, {"THYMIA_REGION": "ca"}, "https://ca.api.thymia.ai"),
        # empty variables are as good as unset
        (None, None, {"THYMIA_BASE_URL": "", "THYMIA_REGION": ""}, "https://api.thymia.ai"),
        (None, None, {"THYMIA_BASE_URL": "", "THYMIA_REGION": "us"}, "https://us.api.thymia.ai"),
    ],
)
def test_argument_beats_environment_beats_default(base_url, region, environ, expected):
    """D15: arg > env > default."""
    assert resolve_base_url(base_url, region, environ) == expected


@pytest.mark.parametrize(
    ("base_url", "region", "environ", "names"),
    [
        ("https://arg.example", "us", {}, ("base_url", "region")),
        ("https://arg.example", "default", {}, ("base_url", "region")),
        (
            None,
            None,
            {"THYMIA_BASE_URL": "https://env.example", "THYMIA_REGION": "ca"},
            ("THYMIA_BASE_URL", "THYMIA_REGION"),
        ),
    ],
)
def test_a_base_url_with_a_region_is_refused_naming_both(base_url, region, environ, names):
    """Both at one level contradict each other: refused before anything, naming both."""
    with pytest.raises(InvalidInputError) as caught:
        resolve_base_url(base_url, region, environ)
    for name in names:
        assert name in str(caught.value)


def test_the_client_refuses_a_base_url_with_a_region(monkeypatch):
    monkeypatch.setenv("THYMIA_API_KEY", KEY)
    with pytest.raises(InvalidInputError, match=r"base_url.*region"):
        HeliosClient(base_url="https://sandbox.example", region="us")


def test_the_client_takes_key_and_host_from_the_environment(monkeypatch):
    """D15, end to end through the public constructor."""
    monkeypatch.setenv("THYMIA_API_KEY", KEY)
    monkeypatch.setenv("THYMIA_REGION", "ca")
    client = HeliosClient()
    assert client.base_url == "https://ca.api.thymia.ai"
    assert KEY not in repr(client)
    monkeypatch.delenv("THYMIA_REGION")
    monkeypatch.setenv("THYMIA_BASE_URL", "https://sandbox.example/")
    assert HeliosClient().base_url == "https://sandbox.example"
    assert HeliosClient(region="us").base_url == "https://us.api.thymia.ai"


def test_the_client_refuses_to_start_without_a_key():
    with pytest.raises(InvalidInputError, match="THYMIA_API_KEY"):
        HeliosClient()


# --- timeouts and user agent -------------------------------------------------------------------


def test_the_user_agent_names_the_library_python_and_aiohttp():
    agent = user_agent()
    assert agent == (
        f"helios-async/{__version__} Python/{platform.python_version()} "
        f"aiohttp/{aiohttp.__version__}"
    )
    assert user_agent("my-app/2.0") == f"{agent} my-app/2.0"
