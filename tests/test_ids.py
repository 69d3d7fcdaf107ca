"""Matrix id shapes: who owns a call-membership state key."""

from __future__ import annotations

import pytest

from scorebot.core.ids import call_member_owner

ANA = "@ana:example.org"


@pytest.mark.parametrize(
    "state_key",
    [
        ANA,
        f"{ANA}_DEVICE",
        f"_{ANA}_DEVICE",
        f"_{ANA}_DEVICE_m.call",
        f"{ANA}_DEVICE_m.call",
        "_@ana:localhost:8008_ABCDEF_m.call",
    ],
)
def test_every_call_membership_key_form_names_its_owner(state_key: str) -> None:
    owner = call_member_owner(state_key)

    assert owner is not None
    assert owner.startswith("@ana:")
    assert state_key.lstrip("_").startswith(owner)


@pytest.mark.parametrize(
    "state_key",
    ["", "_", "__@ana:example.org_D", "ana:example.org", "@ana", "@:example.org", "@ana:_D", "x"],
)
def test_a_key_that_names_no_user_has_no_owner(state_key: str) -> None:
    assert call_member_owner(state_key) is None


def test_a_longer_server_name_is_not_the_same_user() -> None:
    assert call_member_owner("_@ana:example.org.evil_DEVICE_m.call") != ANA
